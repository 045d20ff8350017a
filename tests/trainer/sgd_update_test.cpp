// The CPU SGD update against PyTorch's documented torch.optim.SGD algorithm, computed here in
// double: g = grad * grad_scale + wd * p; v = m * v + g; p -= lr * (nesterov ? g + m * v : v).
// Checked with the per-parameter lr and decay multipliers, plain and Nesterov, over a few steps
// with a changing lr (the Fashion-MNIST MobileNetV1 recipe trains with Nesterov).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "nn/context.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

TEST(SgdUpdate, CpuMatchesTorchSgdInDouble) {
  CpuContext cpu(1);
  const int64_t n = 3000;
  // Segments with a gap between them: elements outside every segment must stay untouched.
  const SgdSegment segs[] = {{0, 1000, 1.f, 1.f}, {1024, 900, 10.f, 0.f}, {2048, 952, 0.5f, 2.f}};
  const float m = 0.9f, wd = 1.5e-3f, gs = 0.5f;
  for (bool nesterov : {false, true}) {
    const Tensor p = random_tensor({n}, 11, -1, 1, DType::f32);
    const Tensor v = random_tensor({n}, 12, -1, 1, DType::f32);
    const Tensor p0 = p.clone();
    std::vector<double> rp(n), rv(n);
    for (int64_t i = 0; i < n; ++i) rp[i] = p.data<float>()[i], rv[i] = v.data<float>()[i];
    for (int step = 0; step < 4; ++step) {
      const Tensor g = random_tensor({n}, 20 + static_cast<uint64_t>(step), -1, 1, DType::f32);
      const float lr = 0.06f / static_cast<float>(step + 1);
      cpu.sgd_momentum_update({&p, &g, &v, segs, lr, m, wd, gs, nesterov});
      for (const SgdSegment& s : segs)
        for (int64_t i = s.offset; i < s.offset + s.numel; ++i) {
          const double gi = double(g.data<float>()[i]) * gs + double(wd) * s.decay_mult * rp[i];
          rv[i] = double(m) * rv[i] + gi;
          rp[i] -= double(lr) * s.lr_mult * (nesterov ? gi + double(m) * rv[i] : rv[i]);
        }
    }
    double worst_p = 0, worst_v = 0;
    for (int64_t i = 0; i < n; ++i) {
      worst_p = std::max(worst_p, std::abs(p.data<float>()[i] - rp[i]));
      worst_v = std::max(worst_v, std::abs(v.data<float>()[i] - rv[i]));
    }
    EXPECT_LE(worst_p, 1e-5) << "nesterov " << nesterov;
    EXPECT_LE(worst_v, 1e-5) << "nesterov " << nesterov;
    // The gaps (1000..1023, 1924..2047) are nobody's parameters.
    for (int64_t i : {1000, 1023, 1924, 2047})
      EXPECT_EQ(p.data<float>()[i], p0.data<float>()[i]) << "element " << i;
  }
}

}  // namespace
}  // namespace qf::test
