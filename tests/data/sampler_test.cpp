// sample_seed and the samplers: determinism in (seed, epoch, index), sensitivity to each input,
// the permutation property, and uniformity of the Fisher–Yates shuffle.
#include "data/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <numeric>
#include <unordered_set>

#include "data/dataset.h"

namespace qf {
namespace {

bool is_permutation_of_range(std::vector<int64_t> v, int64_t n) {
  if (static_cast<int64_t>(v.size()) != n) return false;
  std::sort(v.begin(), v.end());
  for (int64_t i = 0; i < n; ++i)
    if (v[static_cast<size_t>(i)] != i) return false;
  return true;
}

TEST(SampleSeed, IsAPureFunctionOfItsInputs) {
  EXPECT_EQ(sample_seed(7, 3, 12345), sample_seed(7, 3, 12345));
  EXPECT_NE(sample_seed(7, 3, 12345), sample_seed(8, 3, 12345));
  EXPECT_NE(sample_seed(7, 3, 12345), sample_seed(7, 4, 12345));
  EXPECT_NE(sample_seed(7, 3, 12345), sample_seed(7, 3, 12346));
  // The arguments are not interchangeable.
  EXPECT_NE(sample_seed(1, 0, 0), sample_seed(0, 1, 0));
  EXPECT_NE(sample_seed(0, 1, 0), sample_seed(0, 0, 1));
  EXPECT_NE(sample_seed(0, 0, 0), 0u);
}

TEST(SampleSeed, NoCollisionsOnASmallGrid) {
  std::unordered_set<uint64_t> seen;
  for (uint64_t s = 0; s < 8; ++s)
    for (int64_t e = 0; e < 16; ++e)
      for (int64_t i = -1; i < 512; ++i) seen.insert(sample_seed(s, e, i));
  EXPECT_EQ(seen.size(), 8u * 16u * 513u);
}

TEST(SampleSeed, NeighbouringIndicesGiveUnrelatedBits) {
  // Avalanche: seeds of consecutive indices differ in about half of their 64 bits.
  double total = 0;
  const int n = 4096;
  for (int64_t i = 0; i < n; ++i) {
    const int d = std::popcount(sample_seed(42, 1, i) ^ sample_seed(42, 1, i + 1));
    EXPECT_GE(d, 8) << "index " << i;
    total += d;
  }
  EXPECT_NEAR(total / n, 32.0, 1.0);
}

TEST(SequentialSampler, VisitsInOrderEveryEpoch) {
  const SequentialSampler s(5);
  EXPECT_EQ(s.epoch_indices(0), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(s.epoch_indices(9), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(SequentialSampler(0).epoch_indices(0).empty());
}

TEST(ShuffleSampler, SameSeedAndEpochGiveTheSameOrder) {
  const ShuffleSampler a(1000, 17), b(1000, 17);
  EXPECT_EQ(a.epoch_indices(3), b.epoch_indices(3));
  EXPECT_EQ(a.epoch_indices(3), a.epoch_indices(3));
}

TEST(ShuffleSampler, EpochsAndSeedsGiveDifferentOrders) {
  const ShuffleSampler s(1000, 17);
  const std::vector<int64_t> e0 = s.epoch_indices(0);
  EXPECT_NE(e0, s.epoch_indices(1));
  EXPECT_NE(e0, ShuffleSampler(1000, 18).epoch_indices(0));
  std::vector<int64_t> identity(1000);
  std::iota(identity.begin(), identity.end(), int64_t{0});
  EXPECT_NE(e0, identity);
}

TEST(ShuffleSampler, EveryEpochIsAPermutation) {
  for (int64_t n : {0, 1, 2, 3, 10, 257, 60000}) {
    const ShuffleSampler s(n, 5);
    for (int64_t e = 0; e < 3; ++e)
      EXPECT_TRUE(is_permutation_of_range(s.epoch_indices(e), n)) << "n " << n << " epoch " << e;
  }
}

TEST(ShuffleSampler, PositionsAreUniform) {
  // Each element lands in each position with probability 1/n; a shuffle that never leaves an
  // element in place (Sattolo's off-by-one) or favours ends would fail.
  const int64_t n = 5;
  const int epochs = 20000;
  std::array<std::array<int, 5>, 5> count{};
  const ShuffleSampler s(n, 99);
  for (int e = 0; e < epochs; ++e) {
    const std::vector<int64_t> order = s.epoch_indices(e);
    for (int64_t pos = 0; pos < n; ++pos)
      ++count[static_cast<size_t>(order[static_cast<size_t>(pos)])][static_cast<size_t>(pos)];
  }
  // Expected 4000 per cell, standard deviation ~57: +-300 is over 5 sigma.
  for (int64_t v = 0; v < n; ++v)
    for (int64_t pos = 0; pos < n; ++pos)
      EXPECT_NEAR(count[static_cast<size_t>(v)][static_cast<size_t>(pos)], epochs / n, 300)
          << "element " << v << " at position " << pos;
}

TEST(ShuffleSampler, AllSmallPermutationsOccur) {
  // n = 3 has 6 permutations; 600 epochs see each about 100 times.
  std::array<int, 6> seen{};
  const ShuffleSampler s(3, 1);
  for (int e = 0; e < 600; ++e) {
    const std::vector<int64_t> o = s.epoch_indices(e);
    const int code = static_cast<int>(o[0] * 2 + (o[1] > o[2] ? 1 : 0));
    ++seen[static_cast<size_t>(code)];
  }
  for (int c = 0; c < 6; ++c) EXPECT_GT(seen[static_cast<size_t>(c)], 50) << "permutation " << c;
}

}  // namespace
}  // namespace qf
