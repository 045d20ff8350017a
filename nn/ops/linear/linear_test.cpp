// linear by hand and bad shapes. Gradient checks and kernel agreement on every device:
// linear_cases.cpp.
#include <gtest/gtest.h>

#include "tests/op_check.h"

namespace qf::test {
namespace {

OpCase linear_case(int64_t n, int64_t in, int64_t out, bool bias) {
  OpCase c;
  c.op = "linear";
  c.inputs = {Tensor::zeros({n, in}), Tensor::zeros({out, in}),
              bias ? Tensor::zeros({out}) : Tensor()};
  return c;
}

TEST(Linear, HandComputed) {
  // x = [[1, 2, 3]], w = [[1, 0, -1], [2, 1, 0]] (out = 2, in = 3), b = [0.5, -1]
  OpCase c;
  c.op = "linear";
  c.inputs = {Tensor::from({1, 3}, {1, 2, 3}), Tensor::from({2, 3}, {1, 0, -1, 2, 1, 0}),
              Tensor::from({2}, {0.5f, -1})};
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(c, k, {Tensor::from({1, 2}, {1, 10})});
    EXPECT_FLOAT_EQ(r.outputs[0].data<float>()[0], 1 - 3 + 0.5f);
    EXPECT_FLOAT_EQ(r.outputs[0].data<float>()[1], 2 + 2 - 1);
    const std::vector<float> dx{21, 10, -1}, dw{1, 2, 3, 10, 20, 30}, db{1, 10};
    for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ(r.grads[0].data<float>()[i], dx[i]);
    for (int i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(r.grads[1].data<float>()[i], dw[i]);
    for (int i = 0; i < 2; ++i) EXPECT_FLOAT_EQ(r.grads[2].data<float>()[i], db[i]);
  }
}

TEST(Linear, RejectsBadShapes) {
  OpCase c = linear_case(2, 5, 4, true);
  c.inputs[1] = random_tensor({4, 6}, 9);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = linear_case(2, 5, 4, true);
  c.inputs[2] = random_tensor({5}, 9);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = linear_case(2, 5, 4, false);
  c.inputs[0] = random_tensor({2, 5, 1, 1}, 9);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
}

}  // namespace
}  // namespace qf::test
