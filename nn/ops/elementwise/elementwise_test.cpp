// add and mul by hand under the channels-last layout rule (squeeze-excitation, per channel, rank
// 3, scalar) and bad shapes. Gradient checks and kernel agreement on every device:
// elementwise_cases.cpp.
#include <gtest/gtest.h>

#include "nn/ops/elementwise/elementwise_cases.h"
#include "tests/nn/nhwc.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

const KernelKind kBoth[] = {KernelKind::cpu, KernelKind::cpu_ref};

TEST(Mul, SqueezeExcitationScalesEachSampleAndChannel) {
  // x (2, 2, 1, 2) logical values 1..8, s (2, 2, 1, 1) = [[10, 20], [30, 40]].
  OpCase c;
  c.op = "mul";
  c.inputs = {nhwc({2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), nhwc({2, 2, 1, 1}, {10, 20, 30, 40})};
  for (KernelKind k : kBoth) {
    const OpRun r = run_op(c, k, {nhwc({2, 2, 1, 2}, {1, 1, 1, 1, 1, 1, 2, 2})});
    const Tensor& y = r.outputs[0];
    ASSERT_EQ(y.shape(), (Shape{2, 2, 1, 2}));
    EXPECT_EQ(at_nchw(y, 0, 0, 0, 1), 20.f);
    EXPECT_EQ(at_nchw(y, 0, 1, 0, 0), 60.f);
    EXPECT_EQ(at_nchw(y, 1, 0, 0, 1), 180.f);
    EXPECT_EQ(at_nchw(y, 1, 1, 0, 1), 320.f);
    // ds[n, c] = sum_w dy * x
    EXPECT_EQ(r.grads[1].data<float>()[0], 3.f);
    EXPECT_EQ(r.grads[1].data<float>()[1], 7.f);
    EXPECT_EQ(r.grads[1].data<float>()[2], 11.f);
    EXPECT_EQ(r.grads[1].data<float>()[3], 30.f);
    EXPECT_EQ(at_nchw(r.grads[0], 1, 1, 0, 1), 80.f);  // dx = dy * s
  }
}

TEST(Add, PerChannelAndRowMajorRank3Operands) {
  // x (1, 2, 2, 2) channels-last; b (2, 1, 1) per channel; t (2, 2, 2) row-major (rank 3).
  const Tensor x = nhwc({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  OpCase c;
  c.op = "add";
  c.inputs = {x, Tensor::from({2, 1, 1}, {100, 200})};
  for (KernelKind k : kBoth) {
    const OpRun r = run_op(c, k, {nhwc({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})});
    EXPECT_EQ(at_nchw(r.outputs[0], 0, 0, 1, 0), 103.f);
    EXPECT_EQ(at_nchw(r.outputs[0], 0, 1, 1, 1), 208.f);
    EXPECT_EQ(r.grads[1].data<float>()[0], 10.f);
    EXPECT_EQ(r.grads[1].data<float>()[1], 26.f);
  }
  c.inputs = {Tensor::from({2, 2, 2}, {10, 20, 30, 40, 50, 60, 70, 80}), x};
  for (KernelKind k : kBoth) {
    const OpRun r = run_op(c, k, {nhwc({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})});
    ASSERT_EQ(r.outputs[0].shape(), (Shape{1, 2, 2, 2}));
    EXPECT_EQ(at_nchw(r.outputs[0], 0, 0, 0, 1), 22.f);
    EXPECT_EQ(at_nchw(r.outputs[0], 0, 1, 1, 0), 77.f);
    // The rank-3 operand's gradient is row-major.
    for (int i = 0; i < 8; ++i) EXPECT_EQ(r.grads[0].data<float>()[i], i + 1.f) << i;
  }
}

TEST(Mul, ScalarOperand) {
  OpCase c;
  c.op = "mul";
  c.inputs = {Tensor::from({}, {3}), Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6})};
  for (KernelKind k : kBoth) {
    const OpRun r = run_op(c, k, {Tensor::from({2, 3}, {1, 1, 1, 1, 1, 2})});
    EXPECT_EQ(r.outputs[0].shape(), (Shape{2, 3}));
    EXPECT_EQ(r.outputs[0].data<float>()[5], 18.f);
    EXPECT_EQ(r.grads[0].data<float>()[0], 1 + 2 + 3 + 4 + 5 + 12.f);
    EXPECT_EQ(r.grads[1].data<float>()[5], 6.f);
  }
}

TEST(Elementwise, RejectsIncompatibleShapesAndDtypes) {
  EXPECT_THROW(run_op(bin_case("add", {2, 3}, {4, 3}, 1), KernelKind::cpu_ref), InputError);
  EXPECT_THROW(run_op(bin_case("mul", {2, 3, 4, 5}, {2, 4, 1, 1}, 1), KernelKind::cpu_ref),
               InputError);
  OpCase c = bin_case("add", {2, 3}, {2, 3}, 1);
  c.inputs[1] = to_dtype(c.inputs[1], DType::f32);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
}

}  // namespace
}  // namespace qf::test
