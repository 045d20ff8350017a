#include "data/distributed_sampler.h"

#include "nn/error.h"

namespace qf {

DistributedSampler::DistributedSampler(int64_t n, bool shuffle, uint64_t seed, int rank, int world,
                                       ShardTail tail)
    : n_(n), shuffle_(shuffle), seed_(seed), rank_(rank), world_(world), tail_(tail) {
  QF_CHECK(n >= 0, "sampler over ", n, " samples");
  QF_CHECK(world >= 1 && rank >= 0 && rank < world, "rank ", rank, " of ", world);
}

int64_t DistributedSampler::samples_per_rank() const {
  switch (tail_) {
    case ShardTail::drop:
      return n_ / world_;
    case ShardTail::pad:
      return n_ == 0 ? 0 : (n_ + world_ - 1) / world_;
    case ShardTail::uneven:
      return n_ / world_ + (rank_ < n_ % world_ ? 1 : 0);
  }
  return 0;
}

std::vector<int64_t> DistributedSampler::epoch_indices(int64_t epoch) const {
  const std::vector<int64_t> order = shuffle_ ? ShuffleSampler(n_, seed_).epoch_indices(epoch)
                                              : SequentialSampler(n_).epoch_indices(epoch);
  const int64_t count = samples_per_rank();
  std::vector<int64_t> mine(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k)
    mine[static_cast<size_t>(k)] = order[static_cast<size_t>((rank_ + k * world_) % n_)];
  return mine;
}

}  // namespace qf
