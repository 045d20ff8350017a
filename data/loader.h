// DataLoader: assembles batches on worker threads ahead of the trainer.
//
// Batch b of an epoch holds samples order[b*B .. b*B+B) of the sampler's order; worker w builds
// batches b = w, w + W, ... into a ring of `prefetch` preallocated batch buffers, and next() hands
// them out strictly in order, so the result does not depend on the number of workers. No memory is
// allocated after construction. drop_last drops a final partial batch; otherwise it is delivered
// with its true size. start_epoch(e, skip) starts at batch `skip` (resuming mid-epoch).
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
  int workers = 2;
  int prefetch = 4;   // batches buffered ahead of the consumer
  uint64_t seed = 0;  // run seed, for per-sample random transforms
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
  // The next batch of the epoch, valid until the following call; false at the end of the epoch.
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
