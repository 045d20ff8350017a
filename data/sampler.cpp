// Samplers: the order in which an epoch visits a dataset.
//
// ShuffleSampler draws a uniform permutation with Fisher–Yates: for i = n-1 down to 1, swap
// element i with element j, j uniform in [0, i]. The generator is std::mt19937_64 (its output
// sequence is fixed by the C++ standard) seeded with sample_seed(seed, epoch, -1), and j is drawn
// by rejection (no modulo bias, no std::uniform_int_distribution, whose algorithm differs between
// standard libraries), so the permutation is the same on every run, rank and platform.
#include "data/sampler.h"

#include <numeric>
#include <random>
#include <utility>

#include "data/dataset.h"
#include "nn/error.h"

namespace qf {

namespace {

// Uniform integer in [0, bound) from a 64-bit generator, by rejecting the top partial interval.
uint64_t uniform_below(std::mt19937_64& gen, uint64_t bound) {
  // Values below `threshold` would make some residues one more likely than others.
  const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    const uint64_t r = gen();
    if (r >= threshold) return r % bound;
  }
}

std::vector<int64_t> identity(int64_t n) {
  QF_CHECK(n >= 0, "sampler over ", n, " samples");
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  return order;
}

}  // namespace

std::vector<int64_t> SequentialSampler::epoch_indices(int64_t /*epoch*/) const {
  return identity(n_);
}

std::vector<int64_t> ShuffleSampler::epoch_indices(int64_t epoch) const {
  std::vector<int64_t> order = identity(n_);
  // Index -1 keeps the shuffle's stream apart from every sample's (indices are >= 0).
  std::mt19937_64 gen(sample_seed(seed_, epoch, -1));
  for (int64_t i = n_ - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(uniform_below(gen, static_cast<uint64_t>(i) + 1));
    std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return order;
}

}  // namespace qf
