#include "comm/grad_sync.h"

#include <chrono>

namespace qf {

GradSync::GradSync(ParamStore& store, Communicator& comm, double bucket_mb)
    : store_(store), comm_(comm) {
  QF_CHECK(bucket_mb > 0, "bucket size ", bucket_mb, " MiB");
  const auto& params = store.params();
  const size_t arena_bytes = store.grad_arena().nbytes();
  const size_t limit = static_cast<size_t>(bucket_mb * 1024 * 1024);
  bucket_of_.assign(params.size(), 0);
  // From the last parameter backwards; a bucket ends where the parameter after it begins.
  size_t end = arena_bytes;
  for (size_t i = params.size(); i-- > 0;) {
    const bool open =
        !buckets_.empty() && buckets_.back().first_param == i + 1 && buckets_.back().bytes < limit;
    if (open) {
      Bucket& b = buckets_.back();
      b.first_param = i;
      b.bytes += b.offset - params[i].offset;
      b.offset = params[i].offset;
    } else {
      buckets_.push_back({i, i, params[i].offset, end - params[i].offset});
    }
    end = params[i].offset;
    bucket_of_[i] = buckets_.size() - 1;
  }
  pending_.assign(buckets_.size(), 0);
  for (size_t i = 0; i < params.size(); ++i) ++pending_[bucket_of_[i]];
}

void GradSync::attach(Executor& exec) {
  exec.set_grad_ready_hook([this](size_t p) { on_grad_ready(p); });
}

void GradSync::on_grad_ready(size_t param_index) {
  QF_CHECK(param_index < bucket_of_.size(), "parameter index ", param_index);
  size_t& left = pending_[bucket_of_[param_index]];
  QF_CHECK(left > 0, "gradient of '", store_.params()[param_index].name,
           "' reported final twice in one step");
  --left;
  launch_ready();
}

void GradSync::launch_ready() {
  const Tensor& arena = store_.grad_arena();
  while (next_ < buckets_.size() && pending_[next_] == 0) {
    const Bucket& b = buckets_[next_];
    comm_.all_reduce_sum_async(
        arena.view(b.offset, {static_cast<int64_t>(b.bytes / 4)}, DType::f32));
    ++next_;
  }
}

void GradSync::finish() {
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t& p : pending_) p = 0;
  launch_ready();
  comm_.wait_async();
  wait_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ++steps_;
  next_ = 0;
  for (size_t i = 0; i < bucket_of_.size(); ++i) ++pending_[bucket_of_[i]];
}

}  // namespace qf
