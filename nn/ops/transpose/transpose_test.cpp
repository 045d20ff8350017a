// transpose by hand: logical order on channels-last and row-major tensors (a matrix, the default
// permutation, a 4-D permutation, ShuffleNet's 5-D channel shuffle) and permutations refused.
// Gradient checks and kernel agreement: transpose_cases.cpp.
#include <gtest/gtest.h>

#include "nn/ops/transpose/transpose_cases.h"
#include "tests/nn/nhwc.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

constexpr KernelKind kBoth[] = {KernelKind::cpu, KernelKind::cpu_ref};

TEST(Transpose, MatrixAndDefaultPermutation) {
  const Tensor x = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
  for (KernelKind k : kBoth) {
    const OpRun r = run_op(transpose_case(x, {}), k);  // default: reversed axes
    ASSERT_EQ(r.outputs[0].shape(), (Shape{3, 2}));
    EXPECT_EQ(max_rel_diff(r.outputs[0], Tensor::from({3, 2}, {1, 4, 2, 5, 3, 6})), 0.0);
  }
}

TEST(Transpose, FourDIsLogicalWhateverTheLayout) {
  // Logical (1, 2, 2, 3), perm (0, 3, 1, 2): logical (1, 3, 2, 2), y[0, w, c, h] = x[0, c, h, w].
  std::vector<float> v(12);
  for (int i = 0; i < 12; ++i) v[i] = static_cast<float>(i);
  std::vector<float> want(12);
  for (int c = 0; c < 2; ++c)
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 3; ++w) want[(w * 2 + c) * 2 + h] = v[(c * 2 + h) * 3 + w];
  for (KernelKind k : kBoth) {
    const OpRun r = run_op(transpose_case(nhwc({1, 2, 2, 3}, v), {0, 3, 1, 2}), k);
    ASSERT_EQ(r.outputs[0].shape(), (Shape{1, 3, 2, 2}));
    EXPECT_EQ(max_rel_diff(r.outputs[0], nhwc({1, 3, 2, 2}, want)), 0.0);
  }
}

TEST(Transpose, ChannelShuffleOfFiveDRowMajor) {
  // ShuffleNet: (N, groups, C/groups, H, W) -> (N, C/groups, groups, H, W).
  const Shape s{1, 2, 3, 1, 2};
  std::vector<float> v(12), want(12);
  for (int i = 0; i < 12; ++i) v[i] = static_cast<float>(i);
  for (int g = 0; g < 2; ++g)
    for (int c = 0; c < 3; ++c)
      for (int w = 0; w < 2; ++w) want[(c * 2 + g) * 2 + w] = v[(g * 3 + c) * 2 + w];
  for (KernelKind k : kBoth) {
    const OpRun r = run_op(transpose_case(Tensor::from(s, v), {0, 2, 1, 3, 4}), k);
    ASSERT_EQ(r.outputs[0].shape(), (Shape{1, 3, 2, 1, 2}));
    EXPECT_EQ(max_rel_diff(r.outputs[0], Tensor::from({1, 3, 2, 1, 2}, want)), 0.0);
  }
}

TEST(Transpose, RejectsWhatIsNotAPermutation) {
  for (const std::vector<int64_t>& p : {std::vector<int64_t>{0, 0, 1}, {0, 1}, {0, 1, 3}})
    EXPECT_THROW(run_op(transpose_case(random_tensor({2, 3, 4}, 1), p), KernelKind::cpu),
                 InputError);
}

}  // namespace
}  // namespace qf::test
