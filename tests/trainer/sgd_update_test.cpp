// The CPU SGD update against PyTorch's documented torch.optim.SGD algorithm, computed here in
// double: g = grad * grad_scale + wd * p; v = m * v + g; p -= lr * (nesterov ? g + m * v : v).
// Checked with the per-parameter lr and decay multipliers, plain and Nesterov, over a few steps
// with a changing lr (the Fashion-MNIST MobileNetV1 recipe trains with Nesterov), and with the
// gradients first clipped to a global norm as torch.nn.utils.clip_grad_norm_ (and Paddle's
// ClipGradByGlobalNorm) do: grad *= c / max(||grad||, c), the norm over every parameter.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "nn/context.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

// Segments with a gap between them: elements outside every segment must stay untouched. The last
// one spans 22 norm blocks (kSgdNormBlock), enough for the norm to be summed in parallel.
const SgdSegment kSegs[] = {{0, 1000, 1.f, 1.f}, {1024, 900, 10.f, 0.f}, {2048, 90000, 0.5f, 2.f}};
const int64_t kArena = 92048;

// Runs 4 steps of the update on `cpu` and of the double reference; returns the worst |p - ref|
// and |v - ref| over the segments, and checks that the gaps are untouched.
std::pair<double, double> run_against_reference(CpuContext& cpu, bool nesterov, float clip_norm,
                                                Tensor* p_out = nullptr) {
  const float m = 0.9f, wd = 1.5e-3f, gs = 0.5f;
  const Tensor p = random_tensor({kArena}, 11, -1, 1, DType::f32);
  const Tensor v = random_tensor({kArena}, 12, -1, 1, DType::f32);
  const Tensor p0 = p.clone();
  std::vector<double> rp(kArena), rv(kArena);
  for (int64_t i = 0; i < kArena; ++i) rp[i] = p.data<float>()[i], rv[i] = v.data<float>()[i];
  for (int step = 0; step < 4; ++step) {
    const Tensor g = random_tensor({kArena}, 20 + static_cast<uint64_t>(step), -1, 1, DType::f32);
    const float lr = 0.06f / static_cast<float>(step + 1);
    SgdUpdate u{&p, &g, &v, kSegs, lr, m, wd, gs, nesterov};
    u.clip_norm = clip_norm;
    cpu.sgd_momentum_update(u);
    double clip = 1;
    if (clip_norm > 0) {
      double sumsq = 0;
      for (const SgdSegment& s : kSegs)
        for (int64_t i = s.offset; i < s.offset + s.numel; ++i)
          sumsq += std::pow(double(g.data<float>()[i]) * gs, 2);
      clip = clip_norm / std::max(std::sqrt(sumsq), double(clip_norm));
    }
    for (const SgdSegment& s : kSegs)
      for (int64_t i = s.offset; i < s.offset + s.numel; ++i) {
        const double gi =
            double(g.data<float>()[i]) * gs * clip + double(wd) * s.decay_mult * rp[i];
        rv[i] = double(m) * rv[i] + gi;
        rp[i] -= double(lr) * s.lr_mult * (nesterov ? gi + double(m) * rv[i] : rv[i]);
      }
  }
  double worst_p = 0, worst_v = 0;
  for (const SgdSegment& s : kSegs)
    for (int64_t i = s.offset; i < s.offset + s.numel; ++i) {
      worst_p = std::max(worst_p, std::abs(p.data<float>()[i] - rp[i]));
      worst_v = std::max(worst_v, std::abs(v.data<float>()[i] - rv[i]));
    }
  // The gaps (1000..1023, 1924..2047) are nobody's parameters.
  for (int64_t i : {1000, 1023, 1924, 2047})
    EXPECT_EQ(p.data<float>()[i], p0.data<float>()[i]) << "element " << i;
  if (p_out) *p_out = p;
  return {worst_p, worst_v};
}

TEST(SgdUpdate, CpuMatchesTorchSgdInDouble) {
  CpuContext cpu(1);
  for (bool nesterov : {false, true}) {
    const auto [worst_p, worst_v] = run_against_reference(cpu, nesterov, 0.f);
    EXPECT_LE(worst_p, 1e-5) << "nesterov " << nesterov;
    EXPECT_LE(worst_v, 1e-5) << "nesterov " << nesterov;
  }
}

// The gradients' norm here is about 0.5 * sqrt(91900 / 3) = 88: clip_norm 3 scales them by about
// 0.03 every step (the reference then differs from an unclipped update by ~1e-2, far above the
// tolerance), 1000 leaves them alone.
TEST(SgdUpdate, GlobalNormClipMatchesTorchClipGradNorm) {
  CpuContext cpu(1);
  for (bool nesterov : {false, true})
    for (float clip_norm : {3.f, 1000.f}) {
      const auto [worst_p, worst_v] = run_against_reference(cpu, nesterov, clip_norm);
      EXPECT_LE(worst_p, 1e-5) << "nesterov " << nesterov << " clip " << clip_norm;
      EXPECT_LE(worst_v, 1e-5) << "nesterov " << nesterov << " clip " << clip_norm;
    }
  // A clip that does not bite is exactly no clip; and the result does not depend on the threads.
  Tensor unclipped, loose, one_thread, two_threads;
  run_against_reference(cpu, true, 0.f, &unclipped);
  run_against_reference(cpu, true, 1000.f, &loose);
  run_against_reference(cpu, true, 3.f, &one_thread);
  CpuContext cpu2(2);
  run_against_reference(cpu2, true, 3.f, &two_threads);
  for (int64_t i = 0; i < kArena; ++i) {
    ASSERT_EQ(unclipped.data<float>()[i], loose.data<float>()[i]) << "element " << i;
    ASSERT_EQ(one_thread.data<float>()[i], two_threads.data<float>()[i]) << "element " << i;
  }
}

}  // namespace
}  // namespace qf::test
