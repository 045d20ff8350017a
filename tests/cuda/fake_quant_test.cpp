// Quant-aware training on the GPU beyond one op call (each op's CUDA kernel against its reference,
// call by call, runs with the shared cases: tests/ops/backend_ops_test.cpp): the moving-average
// state over several steps, and a MobileNetV1 QAT training step (the quant_aware graph with PACT
// and Conv+BN folding) on the GPU against the same step on the CPU. Skipped, saying why, where no
// GPU is usable.
#include <gtest/gtest.h>

#include <cmath>

#include "models/registry.h"
#include "quant/ops/fake_quant/fake_quant_cases.h"
#include "quant/quant_aware.h"
#include "tests/cuda/gpu_step.h"

namespace qf::test {
namespace {

// Several steps on the GPU follow the CPU's EMA (fake_quant_math.h ema_scale_update, the same
// fused arithmetic on both devices) to float rounding; each step starts from the CPU's state.
TEST(CudaFakeQuant, MovingAverageStateFollowsTheCpuOverSteps) {
  QF_SKIP_WITHOUT_GPU();
  OpCase c = fq_case("fake_quantize_dequantize_moving_average_abs_max", Mode::train, 13);
  for (int s = 0; s < 4; ++s) {
    const OpRun ref = run_op(c, KernelKind::cpu_ref);
    const OpRun gpu = run_op(c, KernelKind::cuda);
    for (int i = 1; i < 4; ++i) EXPECT_LE(max_rel_diff(gpu.state_after[i], ref.state_after[i]), 1e-6);
    for (int i = 1; i < 4; ++i) c.inputs[i] = ref.state_after[i];
    c.inputs[0] = random_tensor({4, 6, 5, 7}, 20 + s, -3, 2, DType::f32);
  }
}

TEST(CudaFakeQuant, MobileNetV1QatStepMatchesTheCpu) {
  QF_SKIP_WITHOUT_GPU();
  ModelConfig mc;
  mc.name = "mobilenet_v1";
  mc.scale = 0.25;
  Graph g = build_model(mc);
  QuantConfig qc;
  qc.activation_pact = true;
  qc.fuse_conv_bn = true;
  const QuantAwareReport r = quant_aware(g, qc);
  ASSERT_GT(r.folded_bn, 0);
  ASSERT_GT(r.pacts, 0);
  ASSERT_GT(r.observers, 0);
  add_classification_loss(g, g.outputs()[0], 0.1);
  CpuContext cpu;
  float cpu_loss = 0, gpu_loss = 0;
  const auto c = train_steps(g, cpu, 8, {1, 28, 28}, 10, 2, false, &cpu_loss);
  const auto d = train_steps(g, test_cuda_context(), 8, {1, 28, 28}, 10, 2, false, &gpu_loss);
  EXPECT_NEAR(gpu_loss, cpu_loss, 1e-3 * (1 + std::fabs(cpu_loss)));
  std::string worst;
  // Fake quantization is a step function: a value within float rounding of a rounding boundary
  // lands one step apart, so gradients agree less tightly than in the FP32 step.
  EXPECT_LE(max_diff(d, c, "grad.", &worst), 2e-2) << worst;
  EXPECT_LE(max_diff(d, c, "features", &worst), 1e-3) << worst;  // params, BN and quant state
  EXPECT_LE(max_diff(d, c, "fc", &worst), 1e-3) << worst;
  // The recorded step (CUDA graph) equals the eager one.
  bool was_recorded = false;
  const auto rec =
      train_steps(g, test_cuda_context(), 8, {1, 28, 28}, 10, 3, true, nullptr, &was_recorded);
  const auto eager = train_steps(g, test_cuda_context(), 8, {1, 28, 28}, 10, 3, false);
  EXPECT_TRUE(was_recorded);
  EXPECT_LE(max_diff(rec, eager, "", &worst), 1e-6) << worst;
}

}  // namespace
}  // namespace qf::test
