// PACT (docs/quantization.md): y = clip(x, -alpha, alpha); dx = dy inside [-alpha, alpha] (the
// boundary counts as inside), dalpha = sum(dy, x > alpha) - sum(dy, x < -alpha), by hand. Finite
// differences away from the kinks and the kernels' agreement: pact_cases.cpp.
#include <gtest/gtest.h>

#include "tests/op_check.h"

namespace qf::test {
namespace {

TEST(Pact, HandComputedForwardAndBothGradients) {
  for (KernelKind kind : {KernelKind::cpu_ref, KernelKind::cpu}) {
    OpCase c;
    c.op = "pact";
    c.inputs = {Tensor::from({6}, {-3, -1, 0.5f, 1, 2.5f, -1.5f}), Tensor::from({1}, {1.f})};
    const Tensor dy = Tensor::from({6}, {1, 2, 3, 4, 5, 6});
    const OpRun r = run_op(c, kind, {dy});
    const float* y = r.outputs[0].data<float>();
    EXPECT_EQ(std::vector<float>(y, y + 6), (std::vector<float>{-1, -1, 0.5f, 1, 1, -1}));
    const float* dx = r.grads[0].data<float>();
    EXPECT_EQ(std::vector<float>(dx, dx + 6), (std::vector<float>{0, 2, 3, 4, 0, 0}));
    EXPECT_EQ(r.grads[1].data<float>()[0], 5.f - 1.f - 6.f);  // x = 2.5 above, -3 and -1.5 below
  }
}

}  // namespace
}  // namespace qf::test
