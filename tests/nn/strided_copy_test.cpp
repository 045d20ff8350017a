// The strided copies behind transpose's and slice's fast kernels (nn/kernels/cpu/strided_copy.h):
// neighbouring dimensions merge into runs. The copies themselves are checked through the ops'
// shared cases (their fast kernels against the references).
#include "nn/kernels/cpu/strided_copy.h"

#include <gtest/gtest.h>

namespace qf {
namespace {

TEST(StridedCopy, CoalescesContiguousDimensions) {
  // (2, 3, 4) read row-major: one run of 24; the transposed walk (4, 3) of a (3, 4) matrix is not.
  const StridedMap a = coalesce({{2, 3, 4}, {12, 4, 1}, 0});
  EXPECT_EQ(a.dims, (std::vector<int64_t>{24}));
  const StridedMap b = coalesce({{4, 1, 3}, {1, 99, 4}, 5});
  EXPECT_EQ(b.dims, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(b.strides, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(b.base, 5);
}

}  // namespace
}  // namespace qf
