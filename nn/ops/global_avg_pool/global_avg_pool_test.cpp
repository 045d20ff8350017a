// global_avg_pool by hand and bad ranks. Gradient checks and kernel agreement on every
// device: global_avg_pool_cases.cpp.
#include <gtest/gtest.h>

#include "tests/nn/nhwc.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

TEST(GlobalAvgPool, HandComputed) {
  // Channel 0 holds 1..4, channel 1 holds 10, 20, 30, 40.
  OpCase c;
  c.op = "global_avg_pool";
  c.inputs = {nhwc({1, 2, 2, 2}, {1, 2, 3, 4, 10, 20, 30, 40})};
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(c, k, {Tensor::from({1, 2, 1, 1}, {4.f, 8.f})});
    ASSERT_EQ(r.outputs[0].shape(), (Shape{1, 2, 1, 1}));
    EXPECT_FLOAT_EQ(r.outputs[0].data<float>()[0], 2.5f);
    EXPECT_FLOAT_EQ(r.outputs[0].data<float>()[1], 25.f);
    for (int h = 0; h < 2; ++h)
      for (int w = 0; w < 2; ++w) {
        EXPECT_FLOAT_EQ(at_nchw(r.grads[0], 0, 0, h, w), 1.f);
        EXPECT_FLOAT_EQ(at_nchw(r.grads[0], 0, 1, h, w), 2.f);
      }
  }
}

TEST(GlobalAvgPool, RejectsWrongRank) {
  OpCase c;
  c.op = "global_avg_pool";
  c.inputs = {Tensor::zeros({2, 3, 4})};
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
}

}  // namespace
}  // namespace qf::test
