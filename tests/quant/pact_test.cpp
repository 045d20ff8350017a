// PACT (reference section 2): y = clip(x, -alpha, alpha); dx = dy inside [-alpha, alpha] (the
// boundary counts as inside), dalpha = sum(dy, x > alpha) - sum(dy, x < -alpha). Hand-computed,
// against finite differences away from the kinks, and fast against reference.
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

TEST(Pact, GradientsMatchFiniteDifferencesAwayFromKinks) {
  OpCase c;
  c.op = "pact";
  c.inputs = {random_away_from({4, 6}, 5, -2, 2, {-0.8, 0.8}, 0.05), Tensor::from({1}, {0.8f})};
  c.inputs[1] = to_dtype(c.inputs[1], DType::f64);
  check_gradients(c);
  c.inputs[0] = random_tensor({3, 50, 400}, 6, -2, 2, DType::f32);  // above the thread cutoff
  c.fast_tol = 1e-5;
  check_fast_matches_ref(c);
}

}  // namespace
}  // namespace qf::test
