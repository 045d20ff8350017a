// transpose and slice (the ops ShuffleNet's channel shuffle and channel split import to): hand
// cases in logical order on channels-last and row-major tensors, gradients against finite
// differences, the fast (strided copy) kernels against the references, and bad attributes.
#include <gtest/gtest.h>

#include <limits>

#include "nn/kernels/cpu/strided_copy.h"
#include "tests/nn/nhwc.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

OpCase transpose_case(const Tensor& x, std::vector<int64_t> perm) {
  OpCase c;
  c.op = "transpose";
  if (!perm.empty()) c.attrs = {{"perm", perm}};
  c.inputs = {x};
  return c;
}

OpCase slice_case(const Tensor& x, std::vector<int64_t> starts, std::vector<int64_t> ends,
                  std::vector<int64_t> axes = {}, std::vector<int64_t> steps = {}) {
  OpCase c;
  c.op = "slice";
  c.attrs = {{"starts", starts}, {"ends", ends}};
  if (!axes.empty()) c.attrs.set("axes", axes);
  if (!steps.empty()) c.attrs.set("steps", steps);
  c.inputs = {x};
  return c;
}

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
  // Logical (1, 2, 2, 3) -> perm (0, 3, 1, 2) -> logical (1, 3, 2, 2): y[0, w, c, h] = x[0, c, h, w].
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

TEST(Transpose, GradientsAndFastMatchesReference) {
  check_gradients(transpose_case(random_tensor({2, 3, 2, 4}, 1), {0, 2, 3, 1}));
  check_gradients(transpose_case(random_tensor({2, 3, 4}, 2), {1, 2, 0}));
  check_gradients(transpose_case(random_tensor({2, 2, 3, 2, 2}, 3), {0, 2, 1, 3, 4}));
  for (const auto& [shape, perm] : std::vector<std::pair<Shape, std::vector<int64_t>>>{
           {{3, 8, 5, 7}, {0, 1, 3, 2}},
           {{3, 8, 5, 7}, {0, 2, 3, 1}},
           {{2, 4, 6, 9, 5}, {0, 2, 1, 3, 4}},
           {{64, 300}, {1, 0}},
           {{1, 1, 7, 1}, {3, 2, 1, 0}}}) {
    OpCase c = transpose_case(random_tensor(shape, 4), perm);
    c.fast_tol = 0;
    check_fast_matches_ref(c);
  }
}

TEST(Transpose, RejectsWhatIsNotAPermutation) {
  for (const std::vector<int64_t>& p : {std::vector<int64_t>{0, 0, 1}, {0, 1}, {0, 1, 3}})
    EXPECT_THROW(run_op(transpose_case(random_tensor({2, 3, 4}, 1), p), KernelKind::cpu), InputError);
}

TEST(Slice, ChannelSplitOfChannelsLast) {
  // ShuffleNet's x.chunk(2, dim=1): channels [0, 2) and [2, 4) of a (1, 4, 1, 2) tensor.
  const Tensor x = nhwc({1, 4, 1, 2}, {0, 1, 10, 11, 20, 21, 30, 31});
  const int64_t kEnd = std::numeric_limits<int64_t>::max();
  for (KernelKind k : kBoth) {
    const OpRun a = run_op(slice_case(x, {0}, {2}, {1}), k);
    const OpRun b = run_op(slice_case(x, {2}, {kEnd}, {1}), k);
    ASSERT_EQ(a.outputs[0].shape(), (Shape{1, 2, 1, 2}));
    EXPECT_EQ(max_rel_diff(a.outputs[0], nhwc({1, 2, 1, 2}, {0, 1, 10, 11})), 0.0);
    EXPECT_EQ(max_rel_diff(b.outputs[0], nhwc({1, 2, 1, 2}, {20, 21, 30, 31})), 0.0);
  }
}

TEST(Slice, OnnxBoundsNegativeAxesAndSteps) {
  const Tensor x = Tensor::from({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  for (KernelKind k : kBoth) {
    // Negative start counts from the end; a too-large end is clamped.
    OpRun r = run_op(slice_case(x, {-2}, {100}, {-1}), k);
    EXPECT_EQ(max_rel_diff(r.outputs[0], Tensor::from({2, 2}, {3, 4, 8, 9})), 0.0);
    // Step 2 from 0, and backwards from the end with step -2.
    r = run_op(slice_case(x, {0}, {5}, {1}, {2}), k);
    EXPECT_EQ(max_rel_diff(r.outputs[0], Tensor::from({2, 3}, {0, 2, 4, 5, 7, 9})), 0.0);
    r = run_op(slice_case(x, {-1, 4}, {-100, 0}, {0, 1}, {-1, -2}), k);
    EXPECT_EQ(max_rel_diff(r.outputs[0], Tensor::from({2, 2}, {9, 7, 4, 2})), 0.0);
  }
}

TEST(Slice, GradientPlacesDyAndZeroes) {
  const Tensor x = Tensor::from({4}, {1, 2, 3, 4});
  for (KernelKind k : kBoth) {
    const OpRun r = run_op(slice_case(x, {1}, {3}), k, {Tensor::from({2}, {5, 7})});
    EXPECT_EQ(max_rel_diff(r.grads[0], Tensor::from({4}, {0, 5, 7, 0})), 0.0);
  }
  check_gradients(slice_case(random_tensor({2, 6, 3, 2}, 1), {1}, {5}, {1}));
  check_gradients(slice_case(random_tensor({2, 6, 3, 3}, 2), {2, -1}, {0, 0}, {2, 3}, {-1, -2}));
  check_gradients(slice_case(random_tensor({3, 7}, 3), {1}, {7}, {1}, {3}));
}

TEST(Slice, FastMatchesReference) {
  for (OpCase c : {slice_case(random_tensor({3, 116, 5, 5}, 1), {58}, {116}, {1}),
                   slice_case(random_tensor({3, 16, 9, 7}, 2), {1, 0}, {8, 7}, {2, 3}, {2, 1}),
                   slice_case(random_tensor({4, 10, 6}, 3), {9}, {-100}, {1}, {-3}),
                   slice_case(random_tensor({5, 40}, 4), {0, 3}, {5, 33})}) {
    c.fast_tol = 0;
    check_fast_matches_ref(c);
  }
}

TEST(Slice, RejectsBadAttributes) {
  const Tensor x = random_tensor({2, 3}, 1);
  EXPECT_THROW(run_op(slice_case(x, {0}, {1}, {1}, {0}), KernelKind::cpu), InputError);
  EXPECT_THROW(run_op(slice_case(x, {0, 0}, {1, 1}, {1, 1}), KernelKind::cpu), InputError);
  EXPECT_THROW(run_op(slice_case(x, {0}, {1}, {2}), KernelKind::cpu), InputError);
  EXPECT_THROW(run_op(slice_case(x, {0, 1}, {1}), KernelKind::cpu), InputError);
}

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
}  // namespace qf::test
