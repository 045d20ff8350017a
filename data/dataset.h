// Datasets: indexed collections of (image, label) samples, decoded and transformed on demand.
//
// A sample is written as float32 into caller-owned memory in channels-last order (H, W, C) —
// the layout of a 4-D activation (nn/layout.h) — so a batch is N samples back to back.
// Random transforms draw from a generator the caller seeds per sample (from the run seed, the
// epoch and the sample index), so a sample's augmentation does not depend on which thread or
// rank loads it.
#pragma once

#include <cstdint>
#include <random>
#include <string>

#include "nn/shape.h"

namespace qf {

using SampleRng = std::mt19937_64;

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // (C, H, W) of every sample after transforms.
  virtual Shape sample_shape() const = 0;
  virtual int num_classes() const = 0;
  // Writes sample `index` (0 <= index < size()) to `out` (H*W*C floats) and returns its label.
  // Thread-safe: loader workers call it concurrently. Throws InputError for bad data.
  virtual int32_t get(int64_t index, float* out, SampleRng& rng) const = 0;
  // Where the samples come from, for messages ("Fashion-MNIST test set, /usr/share/...").
  virtual std::string describe() const = 0;
};

// Seeds the generator of one sample from the run seed, the epoch and the sample index.
uint64_t sample_seed(uint64_t run_seed, int64_t epoch, int64_t index);

}  // namespace qf
