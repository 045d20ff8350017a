// The CUDA kernels of the quant-aware-training ops (nn/kernels/cuda/fake_quant_cuda.cpp) against
// their CPU reference kernels (tests/op_check.h check_cuda_matches_ref: forward output, every
// state input after the forward, every gradient): each fake-quant op in training, evaluation and
// frozen mode, PACT, and the BatchNorm-folding ops. Then a MobileNetV1 QAT training step (the
// quant_aware graph with PACT and Conv+BN folding) on the GPU against the same step on the CPU.
// Skipped, saying why, where no GPU is usable.
#include <gtest/gtest.h>

#include <cmath>

#include "models/registry.h"
#include "quant/quant_aware.h"
#include "tests/cuda/gpu_step.h"

namespace qf::test {
namespace {

Tensor f32(const Shape& s, uint64_t seed, double lo = -1, double hi = 1) {
  return random_tensor(s, seed, lo, hi, DType::f32);
}
Tensor filled(const Shape& s, float v) {
  Tensor t = Tensor::empty(s, DType::f32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = v;
  return t;
}

OpCase fq_case(const std::string& op, Mode mode, uint64_t seed, Attrs attrs = {}) {
  OpCase c;
  c.op = op;
  c.attrs = std::move(attrs);
  c.mode = mode;
  const Shape x{4, 6, 5, 7};
  c.inputs = {f32(x, seed, -3, 2)};
  if (op == "fake_channel_wise_quantize_dequantize_abs_max") {
    const int64_t axis = c.attrs.get_int("quant_axis", 0);
    c.inputs.push_back(filled({x[axis]}, 0.5f));
  } else {
    c.inputs.push_back(filled({1}, 0.7f));
  }
  if (op == "fake_quantize_dequantize_moving_average_abs_max" ||
      op == "moving_average_abs_max_scale") {
    c.inputs.push_back(filled({1}, 2.5f));  // state
    c.inputs.push_back(filled({1}, 1.9f));  // accum
  }
  if (op == "fake_quantize_dequantize_range_abs_max") {
    const int64_t W = c.attrs.get_int("window_size", 10000);
    c.inputs.push_back(f32({W}, seed + 1, 0, 3.5));
  }
  return c;
}

TEST(CudaFakeQuant, AbsMaxAndChannelWise) {
  QF_SKIP_WITHOUT_GPU();
  for (Mode m : {Mode::train, Mode::eval}) {
    check_cuda_matches_ref(fq_case("fake_quantize_dequantize_abs_max", m, 1));
    check_cuda_matches_ref(fq_case("fake_quantize_dequantize_abs_max", m, 2, {{"bits", 4}}));
    for (int64_t axis : {0, 1})
      check_cuda_matches_ref(fq_case("fake_channel_wise_quantize_dequantize_abs_max", m, 3 + axis,
                                     {{"quant_axis", axis}}));
  }
  check_cuda_matches_ref(fq_case("fake_quantize_dequantize_abs_max", Mode::train, 5,
                                 {{"frozen", 1}}));
}

TEST(CudaFakeQuant, MovingAverageAndObserverUpdateTheirStateOnTheDevice) {
  QF_SKIP_WITHOUT_GPU();
  for (const char* op : {"fake_quantize_dequantize_moving_average_abs_max",
                         "moving_average_abs_max_scale"})
  {
    const bool observer = std::string(op) == "moving_average_abs_max_scale";
    for (Mode m : {Mode::train, Mode::eval}) {
      check_cuda_matches_ref(fq_case(op, m, 10, {{"moving_rate", 0.7}, {"bits", 6}}));
      if (observer) check_cuda_matches_ref(fq_case(op, m, 11, {{"quantize", 1}}));
    }
    check_cuda_matches_ref(fq_case(op, Mode::train, 12, {{"frozen", 1}}));
  }
  // Several steps on the GPU follow the CPU's EMA to float rounding.
  OpCase c = fq_case("fake_quantize_dequantize_moving_average_abs_max", Mode::train, 13);
  for (int s = 0; s < 4; ++s) {
    const OpRun ref = run_op(c, KernelKind::cpu_ref);
    const OpRun gpu = run_op(c, KernelKind::cuda);
    for (int i = 1; i < 4; ++i) EXPECT_LE(max_rel_diff(gpu.state_after[i], ref.state_after[i]), 1e-6);
    for (int i = 1; i < 4; ++i) c.inputs[i] = ref.state_after[i];
    c.inputs[0] = f32({4, 6, 5, 7}, 20 + s, -3, 2);
  }
}

TEST(CudaFakeQuant, RangeAbsMaxWindow) {
  QF_SKIP_WITHOUT_GPU();
  // Step 3, window 5: idx = 4. Cases: the batch max beats the scale; the evicted entry was the
  // scale (recompute the window's max); neither (keep the scale); evaluation.
  OpCase c = fq_case("fake_quantize_dequantize_range_abs_max", Mode::train, 30, {{"window_size", 5}});
  c.step.step = 3;
  c.inputs[1] = filled({1}, 0.5f);
  check_cuda_matches_ref(c);
  c.inputs[1] = filled({1}, 9.f);
  c.inputs[2].data<float>()[4] = 9.f;
  check_cuda_matches_ref(c);
  c.inputs[2].data<float>()[4] = 1.f;
  check_cuda_matches_ref(c);
  c.step.step = 12;  // past the window: every entry counts
  c.inputs[2].data<float>()[13 % 5] = 9.f;
  check_cuda_matches_ref(c);
  c.mode = Mode::eval;
  check_cuda_matches_ref(c);
}

TEST(CudaFakeQuant, PactAndBnFolding) {
  QF_SKIP_WITHOUT_GPU();
  OpCase p;
  p.op = "pact";
  p.inputs = {random_away_from({8, 16, 9, 9}, 40, -4, 4, {-1.5, 1.5}, 0.01), filled({1}, 1.5f)};
  p.inputs[0] = to_dtype(p.inputs[0], DType::f32);
  p.cuda_tol = 1e-5;
  check_cuda_matches_ref(p);
  for (const char* op : {"bn_fold_weight", "bn_unscale"})
    for (const Shape& x : {Shape{12, 5, 3, 3}, Shape{6, 12, 4, 4}, Shape{9, 12}}) {
      const int64_t C = std::string(op) == "bn_fold_weight" ? x[0] : x[1];
      OpCase f;
      f.op = op;
      f.attrs = {{"epsilon", 1e-5}};
      f.inputs = {f32(x, 50), f32({C}, 51, 0.5, 1.5), f32({C}, 52, 0.2, 2)};
      f.cuda_tol = 2e-4;
      check_cuda_matches_ref(f);
    }
}

TEST(CudaFakeQuant, MobileNetV1QatStepMatchesTheCpu) {
  QF_SKIP_WITHOUT_GPU();
  ModelConfig mc;
  mc.name = "mobilenet_v1";
  mc.scale = 0.25;
  Graph g = build_model(mc);
  QuantConfig qc;
  qc.activation_preprocess_type = "PACT";
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
