// DistributedSampler: ranks' shares partition the epoch's order, every rank sees the same order,
// and W ranks with batch B step through exactly the batches of one process with batch W·B.
#include "data/distributed_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace qf {
namespace {

TEST(DistributedSampler, OneRankIsTheShuffleSampler) {
  const DistributedSampler d(103, true, 9, 0, 1, ShardTail::drop);
  const ShuffleSampler s(103, 9);
  for (int64_t e : {0, 1, 5}) EXPECT_EQ(d.epoch_indices(e), s.epoch_indices(e));
  EXPECT_EQ(DistributedSampler(7, false, 0, 0, 1, ShardTail::uneven).epoch_indices(3),
            (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(DistributedSampler, RanksInterleaveTheSharedOrder) {
  const int64_t n = 103;
  for (int world : {2, 3, 4}) {
    const std::vector<int64_t> order = ShuffleSampler(n, 4).epoch_indices(2);
    for (int r = 0; r < world; ++r) {
      const std::vector<int64_t> mine =
          DistributedSampler(n, true, 4, r, world, ShardTail::drop).epoch_indices(2);
      ASSERT_EQ(static_cast<int64_t>(mine.size()), n / world);
      for (size_t k = 0; k < mine.size(); ++k) EXPECT_EQ(mine[k], order[r + k * world]);
    }
  }
}

TEST(DistributedSampler, TailPolicies) {
  const int64_t n = 10;
  const int world = 4;
  std::multiset<int64_t> drop, pad, uneven;
  for (int r = 0; r < world; ++r) {
    const DistributedSampler d(n, true, 1, r, world, ShardTail::drop);
    const DistributedSampler p(n, true, 1, r, world, ShardTail::pad);
    const DistributedSampler u(n, true, 1, r, world, ShardTail::uneven);
    EXPECT_EQ(d.samples_per_rank(), 2);  // 10 / 4, two samples skipped
    EXPECT_EQ(p.samples_per_rank(), 3);  // ceil: two samples repeated
    EXPECT_EQ(u.samples_per_rank(), r < 2 ? 3 : 2);
    for (int64_t i : d.epoch_indices(0)) drop.insert(i);
    for (int64_t i : p.epoch_indices(0)) pad.insert(i);
    for (int64_t i : u.epoch_indices(0)) uneven.insert(i);
  }
  const std::vector<int64_t> order = ShuffleSampler(n, 1).epoch_indices(0);
  // drop: all but the order's last two positions, once each
  EXPECT_EQ(drop, std::multiset<int64_t>(order.begin(), order.begin() + 8));
  // pad: everything, and the order's first two positions twice
  std::multiset<int64_t> want(order.begin(), order.end());
  want.insert(order[0]);
  want.insert(order[1]);
  EXPECT_EQ(pad, want);
  // uneven: everything exactly once
  EXPECT_EQ(uneven, std::multiset<int64_t>(order.begin(), order.end()));
}

TEST(DistributedSampler, ShardedBatchesEqualTheOneProcessBatches) {
  // n not divisible by W * B: one process with batch W*B and drop_last takes floor(n / (W B))
  // steps; so do the ranks, and step k's samples are the same set.
  const int64_t n = 1003, B = 8;
  for (int world : {2, 3}) {
    const std::vector<int64_t> single = ShuffleSampler(n, 11).epoch_indices(1);
    const int64_t steps = n / (world * B);
    std::vector<std::vector<int64_t>> shards;
    for (int r = 0; r < world; ++r)
      shards.push_back(DistributedSampler(n, true, 11, r, world, ShardTail::drop).epoch_indices(1));
    EXPECT_EQ(static_cast<int64_t>(shards[0].size()) / B, steps);
    for (int64_t k = 0; k < steps; ++k) {
      std::multiset<int64_t> ranks;
      for (int r = 0; r < world; ++r)
        ranks.insert(shards[r].begin() + k * B, shards[r].begin() + (k + 1) * B);
      const std::multiset<int64_t> one(single.begin() + k * world * B,
                                       single.begin() + (k + 1) * world * B);
      EXPECT_EQ(ranks, one) << "step " << k;
    }
  }
}

TEST(DistributedSampler, EpochsDifferAndRepeat) {
  const DistributedSampler d(50, true, 3, 1, 2, ShardTail::drop);
  EXPECT_EQ(d.epoch_indices(4), d.epoch_indices(4));
  EXPECT_NE(d.epoch_indices(4), d.epoch_indices(5));
}

}  // namespace
}  // namespace qf
