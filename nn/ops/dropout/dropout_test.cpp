// dropout's mask: the counter hash, exact thresholds, independence from the thread count, steps,
// eval and bad ratios. Gradient checks and kernel agreement on every device: dropout_cases.cpp.
#include <gtest/gtest.h>
#include <omp.h>

#include "nn/context.h"
#include "nn/ops/dropout/counter_rng.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

OpCase dropout_case(Shape s, double p, int64_t step, uint64_t seed) {
  OpCase c;
  c.op = "dropout";
  c.attrs = {{"ratio", p}};
  // Nonzero, so a dropped element shows as 0. Float: what run_op feeds the fast kernel.
  c.inputs = {random_tensor(s, 7, 0.5, 2.0, DType::f32)};
  c.step.step = step;
  c.step.seed = seed;
  return c;
}

// Runs the fast kernel's forward with `threads` OpenMP threads (run_op uses all cores).
Tensor forward_with_threads(const OpCase& c, int threads, const std::string& name) {
  CpuContext ctx(threads);
  Node node;
  node.op = c.op;
  node.name = name;
  node.attrs = c.attrs;
  node.inputs = {0};
  node.outputs = {1};
  const Tensor x = to_dtype(c.inputs[0], DType::f32);
  std::vector<TensorDesc> in{{x.shape(), x.dtype()}};
  const auto out = infer_node(node, in);
  auto k = op_registry().get(c.op).kernels[static_cast<int>(KernelKind::cpu)](
      KernelSetup{node, in, out, ctx, true});
  Tensor y = Tensor::zeros(x.shape());
  const Tensor* inp[] = {&x};
  const Tensor* outp[] = {&y};
  k->forward(ForwardCall{inp, outp, c.mode, c.step, nullptr});
  omp_set_num_threads(omp_get_num_procs());
  return y;
}

TEST(Dropout, MaskIsTheCounterHashAndScalesKeptValues) {
  const double p = 0.4;
  OpCase c = dropout_case({50, 1000}, p, 17, 1234);
  const OpRun r =
      run_op(c, KernelKind::cpu, {Tensor::from({50, 1000}, std::vector<float>(50000, 1.f))});
  const Tensor x = to_dtype(c.inputs[0], DType::f32);
  const uint64_t key = rng_key(1234, 17, stream_of_name("op_under_test"));
  const uint32_t thr = rng_drop_threshold(p);
  int64_t kept = 0;
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  for (int64_t i = 0; i < x.numel(); ++i) {
    const bool keep = rng_keep(key, static_cast<uint64_t>(i), thr);
    kept += keep;
    ASSERT_EQ(r.outputs[0].data<float>()[i], keep ? x.data<float>()[i] * scale : 0.f) << i;
    ASSERT_EQ(r.grads[0].data<float>()[i], keep ? scale : 0.f) << i;
  }
  // 50,000 Bernoulli(0.6) draws: standard deviation ~110; allow 5 sigma.
  EXPECT_NEAR(static_cast<double>(kept), 0.6 * 50000, 550);
}

TEST(Dropout, ThresholdIsExactForSimpleRatios) {
  EXPECT_EQ(rng_drop_threshold(0.0), 0u);
  EXPECT_EQ(rng_drop_threshold(0.5), 1u << 23);
  EXPECT_EQ(rng_drop_threshold(0.25), 1u << 22);
  EXPECT_EQ(rng_drop_threshold(0.1), 1677722u);  // ceil(0.1 * 2^24 = 1677721.6)
}

TEST(Dropout, ReproducibleAndIndependentOfThreadsStepsDiffer) {
  OpCase c = dropout_case({3, 16, 20, 20}, 0.5, 9, 77);
  const Tensor a1 = forward_with_threads(c, 1, "features.dropout");
  const Tensor a2 = forward_with_threads(c, 2, "features.dropout");
  EXPECT_EQ(max_rel_diff(a1, a2), 0.0);
  const Tensor other_node = forward_with_threads(c, 2, "classifier.dropout");
  EXPECT_GT(max_rel_diff(a1, other_node), 0.1);
  c.step.step = 10;
  const Tensor next_step = forward_with_threads(c, 2, "features.dropout");
  EXPECT_GT(max_rel_diff(a1, next_step), 0.1);
  c.step.step = 9;
  c.step.seed = 78;
  const Tensor other_seed = forward_with_threads(c, 2, "features.dropout");
  EXPECT_GT(max_rel_diff(a1, other_seed), 0.1);
}

TEST(Dropout, EvalAndZeroRatioAreIdentity) {
  OpCase c = dropout_case({4, 5}, 0.5, 1, 1);
  c.mode = Mode::eval;
  OpRun r = run_op(c, KernelKind::cpu);
  EXPECT_EQ(max_rel_diff(r.outputs[0], to_dtype(c.inputs[0], DType::f32)), 0.0);
  c = dropout_case({4, 5}, 0.0, 1, 1);
  r = run_op(c, KernelKind::cpu, {Tensor::from({4, 5}, std::vector<float>(20, 2.f))});
  EXPECT_EQ(max_rel_diff(r.outputs[0], to_dtype(c.inputs[0], DType::f32)), 0.0);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(r.grads[0].data<float>()[i], 2.f);
}

TEST(Dropout, RejectsRatioOutsideUnitInterval) {
  for (double p : {1.0, -0.1, 1.5}) {
    OpCase c = dropout_case({2, 2}, p, 0, 0);
    EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError) << p;
  }
}

}  // namespace
}  // namespace qf::test
