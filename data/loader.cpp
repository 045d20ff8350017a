// DataLoader: persistent worker threads filling a ring of preallocated batch slots.
// Contract: data/loader.h.
//
// Synchronization (all under one mutex `m`):
//   - Batches of an epoch are numbered first..end-1 (first = skip_batches). Batch b lives in slot
//     b % S (S = prefetch + 1: `prefetch` batches ahead plus the one the consumer holds).
//   - Worker w builds b = w, w + W, ... (those >= first). It may start b once the slot is free,
//     i.e. once the consumer has released batch b - S: b < first + released + S.
//   - A slot goes empty -> (worker fills, outside the lock) -> ready|failed -> held (returned by
//     next()) -> empty (released by the following next() or by start_epoch).
//   - start_epoch and errors cancel an epoch by bumping `generation` (mirrored in an atomic that
//     workers poll between samples) and waiting until no worker is inside a build, so no thread
//     writes slot memory when the ring is reset. Workers then wait for `active` and a generation
//     they have not run yet.
#include "data/loader.h"

#include <algorithm>
#include <atomic>

#include "nn/error.h"

namespace qf {

struct DataLoader::Impl {
  enum class SlotState { empty, ready, failed, held };
  struct Slot {
    Tensor images;       // (B, C, H, W) float32, channels-last
    Tensor labels;       // (B) int32
    Tensor tail_images;  // views of the same memory at the epoch's partial size
    Tensor tail_labels;
    SlotState state = SlotState::empty;
    int64_t batch = -1;
    std::exception_ptr error;
  };

  const Dataset& data;
  const Sampler& sampler;
  const LoaderOptions opt;
  Shape sample_shape;  // (C, H, W)
  int64_t sample_floats = 0;
  std::vector<Slot> slots;
  std::vector<int64_t> order;  // the epoch's dataset indices
  int64_t epoch = 0;
  int64_t first = 0;  // first batch of the epoch (skip_batches)
  int64_t end = 0;    // one past the last batch
  int64_t tail_size = 0;
  int64_t next_batch = 0;  // the batch next() returns next
  int64_t released = 0;    // batches the consumer has given back since `first`
  bool holding = false;    // the consumer holds batch next_batch - 1
  bool started = false;
  SampleRng sync_rng;  // workers == 0

  std::mutex m;
  std::condition_variable work_cv;      // workers wait here
  std::condition_variable consumer_cv;  // next() and cancel() wait here
  uint64_t generation = 0;
  std::atomic<uint64_t> live_generation{0};
  bool active = false;
  bool stop = false;
  int busy = 0;  // workers inside build()
  std::vector<std::thread> threads;

  Impl(const Dataset& d, const Sampler& s, const LoaderOptions& o)
      : data(d), sampler(s), opt(o), sample_shape(d.sample_shape()) {
    QF_CHECK(sample_shape.size() == 3, "dataset sample shape ", shape_str(sample_shape),
             " is not (C, H, W)");
    sample_floats = numel(sample_shape);
    Allocator& alloc = opt.allocator ? *opt.allocator : cpu_allocator();
    const size_t slot_count = opt.workers == 0 ? 1 : static_cast<size_t>(opt.prefetch) + 1;
    slots.resize(slot_count);
    for (Slot& slot : slots) {
      slot.images = Tensor::empty(batch_shape(opt.batch_size), DType::f32, alloc);
      slot.labels = Tensor::empty({opt.batch_size}, DType::i32, alloc);
    }
    order = sampler.epoch_indices(0);
    try {
      for (int w = 0; w < opt.workers; ++w) threads.emplace_back([this, w] { worker_loop(w); });
    } catch (...) {
      shutdown();
      throw;
    }
  }

  ~Impl() { shutdown(); }

  Shape batch_shape(int64_t n) const {
    return {n, sample_shape[0], sample_shape[1], sample_shape[2]};
  }

  int64_t batches_in(int64_t samples) const {
    return opt.drop_last ? samples / opt.batch_size
                         : (samples + opt.batch_size - 1) / opt.batch_size;
  }

  void shutdown() {
    {
      std::lock_guard<std::mutex> lk(m);
      stop = true;
      live_generation.store(++generation, std::memory_order_release);
    }
    work_cv.notify_all();
    for (std::thread& t : threads)
      if (t.joinable()) t.join();
  }

  // Writes batch b into `slot`. Returns false when the epoch was cancelled midway.
  bool build(int64_t b, Slot& slot, uint64_t gen, SampleRng& rng) const {
    const int64_t begin = b * opt.batch_size;
    const int64_t count =
        std::min<int64_t>(opt.batch_size, static_cast<int64_t>(order.size()) - begin);
    float* images = slot.images.data<float>();
    int32_t* labels = slot.labels.data<int32_t>();
    const int classes = data.num_classes();
    for (int64_t i = 0; i < count; ++i) {
      if (opt.workers > 0 && live_generation.load(std::memory_order_acquire) != gen) return false;
      const int64_t index = order[static_cast<size_t>(begin + i)];
      rng.seed(sample_seed(opt.seed, epoch, index));
      const int32_t label = data.get(index, images + i * sample_floats, rng);
      QF_CHECK(label >= 0 && label < classes, data.describe(), ": sample ", index, " has label ",
               label, " outside [0, ", classes, ")");
      labels[i] = label;
    }
    return true;
  }

  void worker_loop(int w) {
    SampleRng rng;
    const int64_t W = opt.workers;
    const auto S = static_cast<int64_t>(slots.size());
    uint64_t done_generation = 0;  // generations start at 1
    std::unique_lock<std::mutex> lk(m);
    for (;;) {
      work_cv.wait(lk, [&] { return stop || (active && generation != done_generation); });
      if (stop) return;
      const uint64_t gen = generation;
      done_generation = gen;
      for (int64_t b = first + ((w - first % W) % W + W) % W; b < end; b += W) {
        work_cv.wait(lk, [&] { return stop || generation != gen || b < first + released + S; });
        if (stop || generation != gen) break;
        Slot& slot = slots[static_cast<size_t>(b % S)];
        ++busy;
        lk.unlock();
        std::exception_ptr error;
        bool complete = false;
        try {
          complete = build(b, slot, gen, rng);
        } catch (...) {
          error = std::current_exception();
        }
        lk.lock();
        if (--busy == 0) consumer_cv.notify_all();
        if (generation != gen || (!complete && !error)) break;
        slot.batch = b;
        slot.state = error ? SlotState::failed : SlotState::ready;
        slot.error = error;
        consumer_cv.notify_all();
        if (error) break;  // the consumer ends the epoch when it reaches this batch
      }
    }
  }

  // Stops the workers' current epoch and empties the ring. Holds `lk` on return.
  void cancel(std::unique_lock<std::mutex>& lk) {
    active = false;
    live_generation.store(++generation, std::memory_order_release);
    work_cv.notify_all();
    consumer_cv.wait(lk, [&] { return busy == 0; });
    for (Slot& slot : slots) {
      slot.state = SlotState::empty;
      slot.batch = -1;
      slot.error = nullptr;
    }
    holding = false;
  }

  void start(int64_t e, int64_t skip) {
    // Validate the new epoch before touching the running one, so a bad call changes nothing.
    std::vector<int64_t> new_order = sampler.epoch_indices(e);
    const int64_t n = data.size();
    for (int64_t index : new_order)
      QF_CHECK(index >= 0 && index < n, "sampler index ", index, " outside the dataset [0, ", n,
               ")");
    const int64_t samples = static_cast<int64_t>(new_order.size());
    const int64_t batches = batches_in(samples);
    if (skip < 0 || skip > batches)
      throw_input_error("data loader: skip_batches ", skip, " is outside 0..", batches,
                        " (the batches of epoch ", e, ")");
    std::unique_lock<std::mutex> lk(m);
    cancel(lk);
    // Workers are idle and wait for `active`, so the epoch's state may change under the lock.
    order.swap(new_order);
    const int64_t tail = samples % opt.batch_size;
    if (tail != tail_size && tail > 0) {
      for (Slot& slot : slots) {
        slot.tail_images = slot.images.view(0, batch_shape(tail), DType::f32);
        slot.tail_labels = slot.labels.view(0, {tail}, DType::i32);
      }
    }
    tail_size = tail;
    epoch = e;
    first = skip;
    end = batches;
    next_batch = skip;
    released = 0;
    started = true;
    active = true;
    lk.unlock();
    work_cv.notify_all();
  }

  void hand_out(Slot& slot, int64_t b, Batch& out) const {
    const int64_t size =
        std::min<int64_t>(opt.batch_size, static_cast<int64_t>(order.size()) - b * opt.batch_size);
    const bool full = size == opt.batch_size;
    out.images = full ? slot.images : slot.tail_images;
    out.labels = full ? slot.labels : slot.tail_labels;
    out.size = size;
    out.index = b;
  }

  bool next_sync(Batch& out) {
    if (next_batch >= end) return false;
    const int64_t b = next_batch++;
    try {
      build(b, slots[0], 0, sync_rng);
    } catch (...) {
      next_batch = end;
      throw;
    }
    hand_out(slots[0], b, out);
    return true;
  }

  bool next_threaded(Batch& out) {
    std::unique_lock<std::mutex> lk(m);
    const auto S = static_cast<int64_t>(slots.size());
    if (holding) {
      slots[static_cast<size_t>((next_batch - 1) % S)].state = SlotState::empty;
      ++released;
      holding = false;
      work_cv.notify_all();
    }
    if (next_batch >= end) return false;
    const int64_t b = next_batch;
    Slot& slot = slots[static_cast<size_t>(b % S)];
    consumer_cv.wait(lk, [&] {
      return slot.batch == b && (slot.state == SlotState::ready || slot.state == SlotState::failed);
    });
    if (slot.state == SlotState::failed) {
      const std::exception_ptr error = slot.error;
      cancel(lk);
      next_batch = end;
      std::rethrow_exception(error);
    }
    slot.state = SlotState::held;
    holding = true;
    ++next_batch;
    hand_out(slot, b, out);
    return true;
  }
};

DataLoader::DataLoader(const Dataset& data, const Sampler& sampler, LoaderOptions options)
    : data_(data), sampler_(sampler), options_(options) {
  if (options_.batch_size < 1)
    throw_input_error("data loader: batch_size ", options_.batch_size,
                      " is not allowed (allowed: 1 or more)");
  if (options_.workers < 0)
    throw_input_error("data loader: workers ", options_.workers,
                      " is not allowed (allowed: 0 = load on the calling thread, or more)");
  if (options_.prefetch < 1)
    throw_input_error("data loader: prefetch ", options_.prefetch,
                      " is not allowed (allowed: 1 or more)");
  impl_ = std::make_unique<Impl>(data_, sampler_, options_);
}

DataLoader::~DataLoader() = default;

void DataLoader::start_epoch(int64_t epoch, int64_t skip_batches) {
  impl_->start(epoch, skip_batches);
}

bool DataLoader::next(Batch& out) {
  QF_CHECK(impl_->started, "DataLoader::next() called before start_epoch()");
  return options_.workers == 0 ? impl_->next_sync(out) : impl_->next_threaded(out);
}

int64_t DataLoader::batches_per_epoch() const {
  return impl_->batches_in(static_cast<int64_t>(impl_->order.size()));
}

}  // namespace qf
