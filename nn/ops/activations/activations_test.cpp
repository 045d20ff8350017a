// The activations' semantics by hand: PyTorch's derivatives at the kinks, clip's bounds. Gradient
// checks and kernel agreement: activations_cases.cpp.
#include <gtest/gtest.h>

#include "tests/op_check.h"

namespace qf::test {
namespace {

TEST(Activation, KinksFollowPyTorch) {
  OpCase c;
  c.op = "relu6";
  c.inputs = {Tensor::from({4}, {0.f, 6.f, 3.f, -1.f})};
  OpRun r = run_op(c, KernelKind::cpu, {Tensor::from({4}, {1.f, 1.f, 1.f, 1.f})});
  EXPECT_EQ(r.grads[0].data<float>()[0], 0.f);
  EXPECT_EQ(r.grads[0].data<float>()[1], 0.f);
  EXPECT_EQ(r.grads[0].data<float>()[2], 1.f);
  EXPECT_EQ(r.grads[0].data<float>()[3], 0.f);
  c.op = "hardswish";
  c.inputs = {Tensor::from({4}, {-3.f, 3.f, 1.f, 4.f})};
  r = run_op(c, KernelKind::cpu, {Tensor::from({4}, {1.f, 1.f, 1.f, 1.f})});
  EXPECT_FLOAT_EQ(r.outputs[0].data<float>()[2], 1.f * 4.f / 6.f);
  EXPECT_FLOAT_EQ(r.grads[0].data<float>()[0], -0.5f);  // (2x+3)/6 at x = -3
  EXPECT_FLOAT_EQ(r.grads[0].data<float>()[1], 1.5f);   // (2x+3)/6 at x = 3
  EXPECT_FLOAT_EQ(r.grads[0].data<float>()[3], 1.f);
}

TEST(Clip, ClampsToBoundsWithInsideGradient) {
  OpCase c;
  c.op = "clip";
  c.attrs = {{"min", -0.5}, {"max", 0.25}};
  c.inputs = {Tensor::from({4}, {-1.f, -0.2f, 0.1f, 3.f})};
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(c, k, {Tensor::from({4}, {1, 1, 1, 1})});
    EXPECT_EQ(max_rel_diff(r.outputs[0], Tensor::from({4}, {-0.5f, -0.2f, 0.1f, 0.25f})), 0.0);
    EXPECT_EQ(max_rel_diff(r.grads[0], Tensor::from({4}, {0, 1, 1, 0})), 0.0);
  }
  c.attrs = {{"min", 1.0}, {"max", 0.0}};
  EXPECT_THROW(run_op(c, KernelKind::cpu), InputError);
}

}  // namespace
}  // namespace qf::test
