// DataLoader: assembles batches on worker threads ahead of the trainer.
//
// Batch b of an epoch holds samples order[b*B .. b*B+B) of the sampler's order; worker w builds
// batches b = w, w + W, ... into a ring of preallocated batch buffers, and next() hands them out
// strictly in order, so the result does not depend on the number of workers. Sample i is drawn
// with a generator seeded by sample_seed(seed, epoch, dataset index), so random transforms do not
// depend on the workers either. The ring holds `prefetch` batches built ahead of the consumer plus
// the one the consumer holds (prefetch + 1 buffers; one buffer with workers = 0, where next()
// builds the batch on the calling thread). All batch memory is allocated at construction: next()
// allocates nothing (once `out` has held a batch); start_epoch allocates only the sampler's index
// list (and the views of a partial final batch when its size changes).
//
// drop_last drops a final partial batch; otherwise it is delivered with its true size (the
// tensors are views of the buffer at that size). start_epoch(e, skip) starts epoch e at batch
// `skip` (resuming mid-epoch; 0 <= skip <= batches_per_epoch(), else InputError); it may be called
// at any time, also in the middle of an epoch: the workers abandon the old epoch first. next()
// before the first start_epoch is an internal error. The worker threads live as long as the loader;
// the destructor stops and joins them.
//
// Errors: an exception thrown by Dataset::get on a worker is rethrown by next() on the caller's
// thread when it reaches that batch; the epoch then ends (further next() calls return false until
// start_epoch). Call start_epoch and next from one thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/sampler.h"
#include "nn/tensor.h"

namespace qf {

struct LoaderOptions {
  int64_t batch_size = 64;
  bool drop_last = true;
  int workers = 2;                 // threads building batches; 0 = build them in next()
  int prefetch = 4;                // batches buffered ahead of the consumer (>= 1)
  uint64_t seed = 0;               // run seed, for per-sample random transforms
  Allocator* allocator = nullptr;  // batch memory (pinned host memory on GPU runs); null = host
};

struct Batch {
  Tensor images;  // (size, C, H, W) float32, channels-last; views of a preallocated buffer
  Tensor labels;  // (size) int32
  int64_t size = 0;
  int64_t index = 0;  // batch number within the epoch
};

class DataLoader {
 public:
  DataLoader(const Dataset& data, const Sampler& sampler, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  void start_epoch(int64_t epoch, int64_t skip_batches = 0);
  // The next batch of the epoch, valid until the following next() or start_epoch(); false at the
  // end of the epoch.
  // Rethrows (on the caller's thread) any error a worker hit, e.g. a corrupt sample.
  bool next(Batch& out);
  int64_t batches_per_epoch() const;
  const Dataset& dataset() const { return data_; }

 private:
  struct Impl;
  const Dataset& data_;
  const Sampler& sampler_;
  LoaderOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qf
