// concat by hand: the channel axis of channels-last tensors, rank 2, mismatched inputs. Gradient
// checks and kernel agreement: concat_cases.cpp.
#include <gtest/gtest.h>

#include "nn/ops/concat/concat_cases.h"
#include "tests/nn/nhwc.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

TEST(Concat, ChannelAxisOfChannelsLastTensors) {
  // Logical (1, 1, 2, 2) and (1, 2, 2, 2): the result's channel 0 is a, channels 1-2 are b.
  const Tensor a = nhwc({1, 1, 2, 2}, {0, 1, 2, 3});
  const Tensor b = nhwc({1, 2, 2, 2}, {10, 11, 12, 13, 20, 21, 22, 23});
  const Tensor want = nhwc({1, 3, 2, 2}, {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23});
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(concat_case({a, b}, 1), k);
    ASSERT_EQ(r.outputs[0].shape(), (Shape{1, 3, 2, 2}));
    EXPECT_EQ(max_rel_diff(r.outputs[0], want), 0.0);
  }
}

TEST(Concat, TwoDimensionalByHand) {
  const OpRun r =
      run_op(concat_case({Tensor::from({2, 1}, {1, 2}), Tensor::from({2, 2}, {3, 4, 5, 6})}, 1),
             KernelKind::cpu);
  EXPECT_EQ(max_rel_diff(r.outputs[0], Tensor::from({2, 3}, {1, 3, 4, 2, 5, 6})), 0.0);
}

TEST(Concat, RejectsMismatchedInputs) {
  EXPECT_THROW(
      run_op(concat_case({random_tensor({2, 3}, 1), random_tensor({3, 3}, 2)}, 1), KernelKind::cpu),
      InputError);
  EXPECT_THROW(
      run_op(concat_case({random_tensor({2, 3}, 1), random_tensor({2, 3}, 2)}, 2), KernelKind::cpu),
      InputError);
}

}  // namespace
}  // namespace qf::test
