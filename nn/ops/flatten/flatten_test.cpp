// flatten's logical (N, C, H, W) order and axes by hand, bad axes. Gradient checks and kernel
// agreement on every device: flatten_cases.cpp.
#include <gtest/gtest.h>

#include "tests/nn/nhwc.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

OpCase flatten_case(Shape s, int64_t axis) {
  OpCase c;
  c.op = "flatten";
  c.attrs = {{"axis", axis}};
  c.inputs = {Tensor::zeros(s)};
  return c;
}

TEST(Flatten, OutputIsInLogicalNchwOrder) {
  std::vector<float> v(2 * 3 * 2 * 2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);  // logical index
  OpCase c;
  c.op = "flatten";
  c.inputs = {nhwc({2, 3, 2, 2}, v)};
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(c, k, {Tensor::from({2, 12}, v)});
    ASSERT_EQ(r.outputs[0].shape(), (Shape{2, 12}));
    for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(r.outputs[0].data<float>()[i], v[i]);
    // The gradient goes back to channels-last.
    EXPECT_EQ(max_rel_diff(r.grads[0], c.inputs[0]), 0.0);
  }
}

TEST(Flatten, AxisChoosesTheSplitNotTheOrder) {
  std::vector<float> v(2 * 3 * 2 * 2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  for (int64_t axis : {0, 2, 3, 4, -1}) {
    OpCase c;
    c.op = "flatten";
    c.attrs = {{"axis", axis}};
    c.inputs = {nhwc({2, 3, 2, 2}, v)};
    const OpRun r = run_op(c, KernelKind::cpu);
    const Shape want = axis == 0                 ? Shape{1, 24}
                       : axis == 2               ? Shape{6, 4}
                       : axis == 3 || axis == -1 ? Shape{12, 2}
                                                 : Shape{24, 1};
    EXPECT_EQ(r.outputs[0].shape(), want) << axis;
    for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(r.outputs[0].data<float>()[i], v[i]) << axis;
  }
}

TEST(Flatten, RejectsBadAxis) {
  EXPECT_THROW(run_op(flatten_case({2, 3, 4, 5}, 5), KernelKind::cpu_ref), InputError);
  EXPECT_THROW(run_op(flatten_case({2, 3}, -3), KernelKind::cpu_ref), InputError);
}

}  // namespace
}  // namespace qf::test
