// slice by hand: ShuffleNet's channel split of a channels-last tensor, ONNX's bounds (negative
// starts, clamped ends, negative axes and steps), the gradient's placement, and bad attributes.
// Gradient checks and kernel agreement: slice_cases.cpp.
#include <gtest/gtest.h>

#include <limits>

#include "nn/ops/slice/slice_cases.h"
#include "tests/nn/nhwc.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

constexpr KernelKind kBoth[] = {KernelKind::cpu, KernelKind::cpu_ref};

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
}

TEST(Slice, RejectsBadAttributes) {
  const Tensor x = random_tensor({2, 3}, 1);
  EXPECT_THROW(run_op(slice_case(x, {0}, {1}, {1}, {0}), KernelKind::cpu), InputError);
  EXPECT_THROW(run_op(slice_case(x, {0, 0}, {1, 1}, {1, 1}), KernelKind::cpu), InputError);
  EXPECT_THROW(run_op(slice_case(x, {0}, {1}, {2}), KernelKind::cpu), InputError);
  EXPECT_THROW(run_op(slice_case(x, {0, 1}, {1}), KernelKind::cpu), InputError);
}

}  // namespace
}  // namespace qf::test
