// GradSync: sums the parameter gradients over ranks in buckets while backward is still running.
//
// The gradient arena (nn/param_store.h) holds every parameter's gradient in graph order. Buckets
// are contiguous ranges of it, formed from the last parameter backwards (backward produces the
// last layers' gradients first) until a bucket holds at least `bucket_mb` MiB; together they
// tile the whole arena, alignment padding included. The bucket list depends only on the graph,
// so it is the same on every rank.
//
// The executor's grad-ready hook reports each parameter whose gradient is final; a bucket whose
// parameters are all final is handed to Communicator::all_reduce_sum_async, always in bucket
// order (bucket k starts only after buckets 0..k-1), so every rank issues the same sequence of
// collectives. finish() starts the buckets still waiting (parameters that got no gradient this
// step keep zeros and are summed all the same), waits for every sum and resets for the next step.
// After finish() the arena holds the sum over ranks; the optimizer divides by the world size
// (grad_scale), which makes the average.
//
// Statistics for the overlap benchmark: wait_seconds is the time finish() blocked (communication
// not hidden behind backward); the backend's AsyncCommStats.busy_seconds is the time sums were in
// flight.
#pragma once

#include <cstdint>
#include <vector>

#include "nn/communicator.h"
#include "nn/executor.h"
#include "nn/param_store.h"

namespace qf {

class GradSync {
 public:
  struct Bucket {
    size_t first_param, last_param;  // indices into store.params(), inclusive
    size_t offset, bytes;            // range of the gradient arena
  };

  GradSync(ParamStore& store, Communicator& comm, double bucket_mb);

  // Routes `exec`'s grad-ready hook here (again after the executor is rebuilt).
  void attach(Executor& exec);
  // A parameter's gradient is final (called by the executor during backward).
  void on_grad_ready(size_t param_index);
  // Starts the remaining buckets and waits until every sum is in place.
  void finish();

  const std::vector<Bucket>& buckets() const { return buckets_; }
  double wait_seconds() const { return wait_seconds_; }
  int64_t steps() const { return steps_; }

 private:
  void launch_ready();

  ParamStore& store_;
  Communicator& comm_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;  // parameter index -> bucket
  std::vector<size_t> pending_;    // per bucket: parameters whose gradient is not final yet
  size_t next_ = 0;                // next bucket to start
  double wait_seconds_ = 0;
  int64_t steps_ = 0;
};

}  // namespace qf
