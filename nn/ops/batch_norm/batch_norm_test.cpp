// batch_norm by hand (biased and unbiased variance, frozen and eval statistics), both fast CPU
// kernels in every mode, large means, and bad input. Gradient checks and kernel agreement on
// every device: batch_norm_cases.cpp.
#include "nn/ops/batch_norm/batch_norm.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>

#include "nn/context.h"
#include "nn/ops/batch_norm/batch_norm_cases.h"
#include "tests/nn/nhwc.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

TEST(BatchNorm, TrainingNormalisesWithBiasedAndUpdatesWithUnbiasedVariance) {
  // One channel with values 1, 2, 3, 6 (N = 2, H = 1, W = 2): mean 3, biased var 3.5, unbiased
  // 14/3.
  OpCase c;
  c.op = "batch_norm";
  c.attrs = {{"epsilon", 0.0}, {"momentum", 0.25}};
  c.inputs = {nhwc({2, 1, 1, 2}, {1, 2, 3, 6}), Tensor::from({1}, {2}), Tensor::from({1}, {0.5f}),
              Tensor::from({1}, {1}), Tensor::from({1}, {2})};
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(c, k, {nhwc({2, 1, 1, 2}, {1, 0, 0, 0})});
    const float istd = 1.f / std::sqrt(3.5f);
    const float want[] = {-2, -1, 0, 3};
    for (int i = 0; i < 4; ++i)
      EXPECT_NEAR(r.outputs[0].data<float>()[i], 2 * want[i] * istd + 0.5f, 1e-5) << i;
    EXPECT_NEAR(r.state_after[3].data<float>()[0], 0.75f * 1 + 0.25f * 3, 1e-6);
    EXPECT_NEAR(r.state_after[4].data<float>()[0], 0.75f * 2 + 0.25f * 14.f / 3, 1e-5);
    // dy = e0: dbeta = 1, dgamma = xhat0, dx = gamma*istd*(e0 - 1/4 - xhat*xhat0/4)
    const float xhat0 = -2 * istd;
    EXPECT_NEAR(r.grads[2].data<float>()[0], 1, 1e-6);
    EXPECT_NEAR(r.grads[1].data<float>()[0], xhat0, 1e-5);
    for (int i = 0; i < 4; ++i) {
      const float e = i == 0 ? 1.f : 0.f;
      EXPECT_NEAR(r.grads[0].data<float>()[i], 2 * istd * (e - 0.25f - want[i] * istd * xhat0 / 4),
                  1e-5)
          << i;
    }
  }
}

TEST(BatchNorm, FrozenAndEvalUseRunningStatisticsAndLeaveThemAlone) {
  OpCase c;
  c.op = "batch_norm";
  c.attrs = {{"epsilon", 0.0}, {"use_running_stats", int64_t{1}}};
  c.inputs = {Tensor::from({2, 2}, {1, 2, 3, 4}), Tensor::from({2}, {1, 2}),
              Tensor::from({2}, {0, 1}), Tensor::from({2}, {1, 2}), Tensor::from({2}, {4, 16})};
  for (Mode mode : {Mode::train, Mode::eval})
    for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
      c.mode = mode;
      const OpRun r = run_op(c, k, {Tensor::from({2, 2}, {1, 1, 1, 1})});
      const float want[] = {0, 1, 1, 2};  // (x - rm) / sqrt(rv) * gamma + beta
      for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(r.outputs[0].data<float>()[i], want[i]) << i;
      EXPECT_EQ(r.state_after[3].data<float>()[1], 2.f);
      EXPECT_EQ(r.state_after[4].data<float>()[1], 16.f);
      if (mode == Mode::train) {  // statistics are constants: dx = gamma / sqrt(rv) * dy
        EXPECT_FLOAT_EQ(r.grads[0].data<float>()[0], 0.5f);
        EXPECT_FLOAT_EQ(r.grads[0].data<float>()[1], 0.5f);
        EXPECT_FLOAT_EQ(r.grads[1].data<float>()[0], 0 + 2 / 2.f);  // sum xhat
      }
    }
}

// Runs one of the fast CPU kernels directly (run_op goes through the registry, which picks one of
// them by channel count). `want` selects the gradients to ask for (x, gamma, beta).
OpRun run_kernel(KernelFactory f, const OpCase& c, const Tensor& dy, std::array<bool, 3> want) {
  CpuContext ctx;
  Node node;
  node.op = "batch_norm";
  node.name = "bn";
  node.attrs = c.attrs;
  node.inputs = {0, 1, 2, 3, 4};
  node.outputs = {5};
  std::vector<TensorDesc> in;
  OpRun r;
  for (auto& t : c.inputs) {
    r.state_after.push_back(to_dtype(t, DType::f32));
    in.push_back({t.shape(), DType::f32});
  }
  const auto out = infer_node(node, in);
  auto k = f(KernelSetup{node, in, out, ctx, true});
  Tensor ws = Tensor::zeros({static_cast<int64_t>(k->workspace_bytes()) + 1}, DType::u8);
  r.outputs = {Tensor::zeros(out[0].shape)};
  std::vector<const Tensor*> inp;
  for (auto& t : r.state_after) inp.push_back(&t);
  const Tensor* outp[] = {&r.outputs[0]};
  k->forward(ForwardCall{inp, outp, c.mode, {}, ws.raw()});
  r.grads = {Tensor::zeros(c.inputs[0].shape()), Tensor::zeros(c.inputs[1].shape()),
             Tensor::zeros(c.inputs[2].shape())};
  const Tensor* dyp[] = {&dy};
  const Tensor* grads[] = {want[0] ? &r.grads[0] : nullptr, want[1] ? &r.grads[1] : nullptr,
                           want[2] ? &r.grads[2] : nullptr, nullptr, nullptr};
  k->backward(BackwardCall{inp, outp, dyp, grads, ws.raw()});
  return r;
}

TEST(BatchNorm, BothFastKernelsMatchTheReferenceInEveryMode) {
  const std::array<bool, 3> wants[] = {
      {true, true, true}, {false, true, true}, {true, false, false}};
  for (KernelFactory f : {make_batch_norm_dnnl, make_batch_norm_loops})
    for (Shape x : {Shape{4, 32, 5, 5}, Shape{3, 24, 7, 6}, Shape{50, 40}})
      for (int64_t frozen : {0, 1})
        for (Mode mode : {Mode::train, Mode::eval})
          for (const auto& want : wants) {
            SCOPED_TRACE(str_cat(f == make_batch_norm_dnnl ? "oneDNN " : "loops ", shape_str(x),
                                 " frozen ", frozen, mode == Mode::train ? " train" : " eval",
                                 " want ", want[0], want[1], want[2]));
            OpCase c = bn_case(x, frozen, 20);
            c.mode = mode;
            for (auto& t : c.inputs) t = to_dtype(t, DType::f32);
            const Tensor dy = random_tensor(x, 21, -1, 1, DType::f32);
            const OpRun ref = run_op(c, KernelKind::cpu_ref, {dy});
            const OpRun fast = run_kernel(f, c, dy, want);
            EXPECT_LE(max_rel_diff(fast.outputs[0], ref.outputs[0]), 1e-4);
            EXPECT_LE(max_rel_diff(fast.state_after[3], ref.state_after[3]), 1e-5);
            EXPECT_LE(max_rel_diff(fast.state_after[4], ref.state_after[4]), 1e-5);
            for (int i = 0; i < 3; ++i)
              if (want[i]) EXPECT_LE(max_rel_diff(fast.grads[i], ref.grads[i]), 1e-4) << i;
          }
}

TEST(BatchNorm, StatisticsStayAccurateForLargeMeans) {
  // Values around 1000 with unit spread: a one-pass sum of squares in float would lose the
  // variance.
  OpCase c = bn_case({16, 24, 16, 16}, 0, 30);
  for (int64_t i = 0; i < c.inputs[0].numel(); ++i) c.inputs[0].data<double>()[i] += 1000.0;
  for (auto& t : c.inputs) t = to_dtype(t, DType::f32);
  const Tensor dy = random_tensor({16, 24, 16, 16}, 31, -1, 1, DType::f32);
  OpCase d = c;  // the reference in double as the oracle
  for (auto& t : d.inputs) t = to_dtype(t, DType::f64);
  const OpRun ref = run_op(d, KernelKind::cpu_ref, {to_dtype(dy, DType::f64)});
  // oneDNN sums the mean in float (measured error 8e-4 here); the loops' shifted double sums keep
  // the output within float rounding of the normalisation itself (measured 5e-5).
  for (KernelFactory f : {make_batch_norm_dnnl, make_batch_norm_loops}) {
    const double tol = f == make_batch_norm_dnnl ? 2e-3 : 2e-4;
    const OpRun fast = run_kernel(f, c, dy, {true, true, true});
    EXPECT_LE(max_rel_diff(fast.outputs[0], ref.outputs[0]), tol);
    EXPECT_LE(max_rel_diff(fast.state_after[4], ref.state_after[4]), 1e-6);
    EXPECT_LE(max_rel_diff(fast.grads[0], ref.grads[0]), tol);
  }
}

TEST(BatchNorm, RejectsBadShapesAttributesAndSingleValueTraining) {
  OpCase c = bn_case({2, 3, 4, 4}, 0, 10);
  c.inputs[1] = random_tensor({4}, 11);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = bn_case({2, 3, 4}, 0, 10);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = bn_case({2, 3, 4, 4}, 2, 10);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = bn_case({2, 3, 4, 4}, 0, 10);
  c.attrs.set("momentum", 1.5);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = bn_case({1, 3}, 0, 10);  // one value per channel
  for (auto& t : c.inputs) t = to_dtype(t, DType::f32);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  EXPECT_THROW(run_op(c, KernelKind::cpu), InputError);
  c.mode = Mode::eval;  // fine in eval mode
  EXPECT_NO_THROW(run_op(c, KernelKind::cpu));
}

TEST(BatchNorm, CudaRejectsOneValuePerChannel) {
  QF_SKIP_WITHOUT_GPU();
  const OpCase c = as_float32(bn_case({1, 4, 1, 1}, 0, 7));
  EXPECT_THROW(run_op(c, KernelKind::cuda), InputError);
}

}  // namespace
}  // namespace qf::test
