// Executor: gradients of values used several times (within one node and across nodes) are summed;
// parameter gradients match finite differences of the whole graph; gradient buffers that share
// memory do not corrupt each other; inference executors compute only what is asked.
#include <gtest/gtest.h>

#include <cmath>

#include "models/registry.h"
#include "nn/executor.h"
#include "tests/op_check.h"

namespace qf {
namespace {

// x (N,4) -> linear -> h; s = h + h (h twice in one node); m = s * h (h again, in a second node);
// logits = linear2(relu(m)); loss = CE(logits, label).
Graph shared_value_graph() {
  Graph g;
  ModelBuilder b(g);
  const int x = b.input("image", {-1, 4});
  const int h = b.linear("l1", x, 4, 5, true, Init::normal(0, 0.5), Init::normal(0, 0.1));
  const int s = b.add("twice", h, h);
  const int m = b.mul("prod", s, h);
  const int r = b.relu("act", m);
  const int logits = b.linear("l2", r, 5, 3, true, Init::normal(0, 0.5), Init::zeros());
  g.mark_output(logits);
  add_classification_loss(g, logits, 0.0);
  return g;
}

double loss_of(Executor& ex, CpuContext& ctx) {
  ex.forward(Mode::train);
  Tensor host = Tensor::empty({}, DType::f32);
  ctx.copy(host, ex.tensor("loss"));
  return host.data<float>()[0];
}

TEST(Executor, SumsGradientsOfSharedValuesAndMatchesFiniteDifferences) {
  Graph g = shared_value_graph();
  CpuContext ctx(1);
  ParamStore store(g, ctx, 7);
  Executor ex(g, store, ctx);
  ex.prepare(6);
  ex.set_input("image", test::random_tensor({6, 4}, 3, -1, 1, DType::f32));
  Tensor labels = Tensor::empty({6}, DType::i32);
  for (int i = 0; i < 6; ++i) labels.data<int32_t>()[i] = i % 3;
  ex.set_input("label", labels);
  loss_of(ex, ctx);
  ex.backward();
  for (const ParamEntry& p : store.params()) {
    const Tensor analytic = p.grad.clone();
    for (int64_t i = 0; i < p.data.numel(); ++i) {
      float* w = p.data.data<float>() + i;
      const float saved = *w;
      const float eps = 1e-2f;
      *w = saved + eps;
      const double up = loss_of(ex, ctx);
      *w = saved - eps;
      const double down = loss_of(ex, ctx);
      *w = saved;
      const double numeric = (up - down) / (2 * eps);
      EXPECT_NEAR(analytic.data<float>()[i], numeric, 2e-3 + 2e-2 * std::fabs(numeric))
          << p.name << "[" << i << "]";
    }
  }
}

TEST(Executor, GradReadyHookFiresOncePerParameterInReverseOrder) {
  Graph g = shared_value_graph();
  CpuContext ctx(1);
  ParamStore store(g, ctx, 7);
  Executor ex(g, store, ctx);
  ex.prepare(2);
  ex.set_input("image", test::random_tensor({2, 4}, 3, -1, 1, DType::f32));
  Tensor labels = Tensor::zeros({2}, DType::i32);
  ex.set_input("label", labels);
  std::vector<size_t> order;
  ex.set_grad_ready_hook([&](size_t i) { order.push_back(i); });
  ex.forward(Mode::train);
  ex.backward();
  // l2.weight, l2.bias come last in the graph, so they are ready first.
  ASSERT_EQ(order.size(), store.params().size());
  EXPECT_EQ(store.params()[order[0]].name.rfind("l2.", 0), 0u);
  EXPECT_EQ(store.params()[order.back()].name.rfind("l1.", 0), 0u);
}

// The whole small MobileNetV1 (every kind of node, activation-gradient slots reused many times):
// fast kernels and reference kernels give the same loss and parameter gradients. The tolerance is
// relative to each tensor's largest gradient: 27 batch-norms in float amplify summation-order
// differences to ~1%, while a routing bug would be off by the gradient's own size. Some
// gradients are zero in exact arithmetic — the gamma of a BatchNorm whose ReLU output goes through
// a per-channel conv into another BatchNorm (beta starts at 0, so gamma only scales a channel the
// next BatchNorm normalises again) — and are pure rounding (~10% apart when the input moves by
// one ulp); the floor of 1e-5 x the model's largest gradient covers those.
TEST(Executor, MobileNetV1FastMatchesReference) {
  ModelConfig mc;
  mc.scale = 0.25;
  Graph g = build_model(mc);
  add_classification_loss(g, g.outputs()[0], 0.1);
  const Tensor x = test::random_tensor({16, 1, 28, 28}, 11, -1, 1, DType::f32);
  Tensor labels = Tensor::empty({16}, DType::i32);
  for (int i = 0; i < 16; ++i) labels.data<int32_t>()[i] = (3 * i) % 10;
  std::vector<std::map<std::string, Tensor>> grads;
  std::vector<double> losses;
  for (bool reference : {false, true}) {
    CpuContext ctx(0, reference);
    ParamStore store(g, ctx, 5);
    Executor ex(g, store, ctx);
    ex.prepare(16);
    ex.set_input("image", x);
    ex.set_input("label", labels);
    losses.push_back(loss_of(ex, ctx));
    ex.backward();
    std::map<std::string, Tensor> gm;
    for (const ParamEntry& p : store.params()) gm[p.name] = p.grad.clone();
    for (const ParamEntry& b : store.buffers()) gm[b.name] = b.data.clone();  // running stats
    grads.push_back(gm);
  }
  EXPECT_NEAR(losses[0], losses[1], 1e-4 * std::fabs(losses[1]));
  auto largest = [](const Tensor& t) {
    double m = 0;
    for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs(double(t.data<float>()[i])));
    return m;
  };
  double model_scale = 0;
  for (const auto& [name, t] : grads[1])
    if (name.find(".running_") == std::string::npos) model_scale = std::max(model_scale, largest(t));
  for (const auto& [name, t] : grads[1]) {
    const double tolerance = 3e-2 * largest(t) + 1e-5 * model_scale;
    for (int64_t i = 0; i < t.numel(); ++i)
      ASSERT_NEAR(grads[0][name].data<float>()[i], t.data<float>()[i], tolerance)
          << name << "[" << i << "]";
  }
}

TEST(Executor, InferenceRunsOnlyWhatOutputsNeed) {
  ModelConfig mc;
  mc.name = "lenet";
  Graph g = build_model(mc);
  add_classification_loss(g, g.outputs()[0], 0.0);
  CpuContext ctx(1);
  ParamStore store(g, ctx, 1);
  ExecOptions o;
  o.training = false;
  o.outputs = {g.value(g.outputs()[0]).name};
  Executor ex(g, store, ctx, o);
  ex.prepare(3);  // the loss node needs "label", which is never fed: it must not run
  ex.set_input("image", test::random_tensor({3, 1, 28, 28}, 2, -1, 1, DType::f32));
  ex.forward(Mode::eval);
  const Tensor& logits = ex.tensor(g.outputs()[0]);
  EXPECT_EQ(logits.shape(), (Shape{3, 10}));
  for (int64_t i = 0; i < logits.numel(); ++i) EXPECT_TRUE(std::isfinite(logits.data<float>()[i]));
}

}  // namespace
}  // namespace qf
