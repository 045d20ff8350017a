// Samplers decide which samples an epoch visits and in which order.
#pragma once

#include <cstdint>
#include <vector>

namespace qf {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // Dataset indices for `epoch`, in visiting order. Deterministic in (seed, epoch).
  virtual std::vector<int64_t> epoch_indices(int64_t epoch) const = 0;
};

// 0, 1, ..., n-1 every epoch (evaluation).
class SequentialSampler final : public Sampler {
 public:
  explicit SequentialSampler(int64_t n) : n_(n) {}
  std::vector<int64_t> epoch_indices(int64_t epoch) const override;

 private:
  int64_t n_;
};

// A permutation of 0..n-1 drawn from (seed, epoch): the same on every run and every rank.
class ShuffleSampler final : public Sampler {
 public:
  ShuffleSampler(int64_t n, uint64_t seed) : n_(n), seed_(seed) {}
  std::vector<int64_t> epoch_indices(int64_t epoch) const override;

 private:
  int64_t n_;
  uint64_t seed_;
};

}  // namespace qf
