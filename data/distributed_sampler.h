// DistributedSampler: one rank's share of every epoch's order.
//
// The whole-dataset order of epoch e is the ShuffleSampler's permutation drawn from (seed, e) —
// the same on every rank — or 0..n-1 without shuffling. Rank r of W takes the positions
// r, r + W, r + 2W, ... of it. So batch k of every rank (batch size B) together holds positions
// [k·W·B, (k+1)·W·B) of the order: W ranks with batch B step through exactly the global batches
// one process with batch W·B takes (the distributed-equals-one-big-batch tests rely on this).
//
// The tail, when W does not divide n:
//   drop   (training): every rank takes floor(n / W) samples; the last n mod W positions of the
//          order — a different random handful each epoch — are skipped. Ranks must take equal step
//          counts (a rank with one more step would wait forever in its collectives), and dropping
//          keeps the step count and the batches identical to one process with batch W·B and
//          drop_last (floor(floor(n/W)/B) = floor(n/(W·B))); padding, PyTorch's default, would
//          instead repeat up to W−1 samples every epoch and can add a step the single process
//          does not take.
//   pad:   every rank takes ceil(n / W) samples, the order continuing cyclically from its start.
//   uneven (evaluation): every sample exactly once; ranks take floor or ceil of n / W samples.
//          Evaluation has no per-batch collective, only the final count sum, so unequal shares
//          are harmless there and the counts stay exact.
#pragma once

#include <cstdint>
#include <vector>

#include "data/sampler.h"

namespace qf {

enum class ShardTail { drop, pad, uneven };

class DistributedSampler final : public Sampler {
 public:
  // shuffle: the ShuffleSampler's order drawn from (seed, epoch); else 0..n-1 (seed unused).
  DistributedSampler(int64_t n, bool shuffle, uint64_t seed, int rank, int world, ShardTail tail);
  std::vector<int64_t> epoch_indices(int64_t epoch) const override;
  // Samples this rank takes per epoch.
  int64_t samples_per_rank() const;

 private:
  int64_t n_;
  bool shuffle_;
  uint64_t seed_;
  int rank_, world_;
  ShardTail tail_;
};

}  // namespace qf
