// The training executor keeps an activation for backward only while a backward reads it
// (OpDef::backward_reads_*), and shares the freed memory with later activations and gradients. A
// mask that leaves out a tensor some kernel reads would make that kernel read another value's
// bytes; so every model, FP32 and quant-aware, trains bit-identically to the plan that keeps every
// activation to the end of backward (ExecOptions::save_all_activations). Also: the executor's
// accounting of what it allocated matches what the host allocator measured.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "models/registry.h"
#include "nn/executor.h"
#include "quant/quant_aware.h"
#include "tests/op_check.h"
#include "trainer/optimizer.h"

namespace qf {
namespace {

constexpr int64_t kBatch = 2;

struct StepResult {
  Tensor loss, grads, params, buffers;  // host copies after two training steps
  size_t slot_bytes = 0;
};

Graph small_model(const std::string& name, bool qat) {
  ModelConfig c;
  c.name = name;
  c.image_size = name == "vgg16_bn" ? 32 : 28;
  Graph g = build_model(c);
  if (qat) quant_aware(g, QuantConfig{});
  add_classification_loss(g, g.outputs()[0], 0.0);
  return g;
}

Tensor host_copy(DeviceContext& ctx, const Tensor& t) {
  Tensor h = Tensor::empty(t.shape(), t.dtype());
  ctx.copy(h, t);
  return h;
}

StepResult two_steps(const Graph& g, bool save_all, bool reference) {
  CpuContext ctx(2, reference);
  ParamStore store(g, ctx, 7);
  ExecOptions o;
  o.save_all_activations = save_all;
  Executor ex(g, store, ctx, o);
  ex.prepare(kBatch);
  const Shape image = g.value(g.value_id("image")).shape;
  Tensor labels = Tensor::empty({kBatch}, DType::i32);
  for (int i = 0; i < kBatch; ++i) labels.data<int32_t>()[i] = (3 * i + 1) % 10;
  SgdMomentum opt(store, OptimizerConfig{});
  for (int64_t step = 0; step < 2; ++step) {
    ex.set_input("image", test::random_tensor({kBatch, image[1], image[2], image[3]},
                                              11 + static_cast<uint64_t>(step), -1, 1, DType::f32));
    ex.set_input("label", labels);
    ex.forward(Mode::train, StepInfo{step, 1});
    ex.backward();
    opt.step(0.05);
  }
  StepResult r;
  r.loss = host_copy(ctx, ex.tensor("loss"));
  r.grads = host_copy(ctx, store.grad_arena());
  r.params = host_copy(ctx, store.param_arena());
  if (!store.buffer_arenas().empty())
    r.buffers = host_copy(ctx, store.buffer_arenas().begin()->second);
  r.slot_bytes = ex.memory_plan().slots;
  return r;
}

void expect_same_bytes(const Tensor& a, const Tensor& b, const char* what) {
  ASSERT_EQ(a.defined(), b.defined()) << what;
  if (!a.defined()) return;
  ASSERT_EQ(a.nbytes(), b.nbytes()) << what;
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << what << " differ";
}

class SavedActivations : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(SavedActivations, TrainBitIdenticallyToKeepingEveryActivation) {
  const auto& [name, qat] = GetParam();
  const Graph g = small_model(name, qat);
  const StepResult all = two_steps(g, /*save_all=*/true, /*reference=*/false);
  const StepResult saved = two_steps(g, /*save_all=*/false, /*reference=*/false);
  expect_same_bytes(saved.loss, all.loss, "loss");
  expect_same_bytes(saved.grads, all.grads, "parameter gradients");
  expect_same_bytes(saved.params, all.params, "parameters after two SGD steps");
  expect_same_bytes(saved.buffers, all.buffers, "buffers (BN statistics, quantizer scales)");
  EXPECT_LT(saved.slot_bytes, all.slot_bytes) << "keeping only saved tensors saves nothing";
}

// Every model but resnet34, which has resnet18's ops and blocks (the suite also runs under ASan).
std::vector<std::string> models_to_check() {
  std::vector<std::string> names;
  for (const std::string& n : model_names())
    if (n != "resnet34") names.push_back(n);
  return names;
}

INSTANTIATE_TEST_SUITE_P(
    EveryModel, SavedActivations,
    ::testing::Combine(::testing::ValuesIn(models_to_check()), ::testing::Bool()),
    [](const auto& info) {
      return std::get<0>(info.param) + (std::get<1>(info.param) ? "_qat" : "_fp32");
    });

// The reference kernels read their saved tensors in their own way (max pooling searches x again).
TEST(SavedActivationsReference, ReferenceKernelsTrainBitIdentically) {
  for (const std::string name : {"mobilenet_v3_small", "resnet18"}) {
    const Graph g = small_model(name, /*qat=*/true);
    const StepResult all = two_steps(g, true, /*reference=*/true);
    const StepResult saved = two_steps(g, false, /*reference=*/true);
    expect_same_bytes(saved.grads, all.grads, (name + " parameter gradients").c_str());
    expect_same_bytes(saved.params, all.params, (name + " parameters").c_str());
  }
}

// What the executor says it allocated, plus the parameter store and the optimizer, is what the host
// allocator measured at its peak during two training steps (kernels' own tensors are the rest).
TEST(SavedActivationsAccounting, PlanMatchesTheAllocatorsMeasuredPeak) {
  for (bool qat : {false, true}) {
    const Graph g = small_model("mobilenet_v2", qat);
    const size_t before = cpu_allocation_stats().in_use;
    reset_cpu_allocation_peak();
    size_t planned = 0;
    {
      CpuContext ctx(2);
      ParamStore store(g, ctx, 7);
      Executor ex(g, store, ctx);
      ex.prepare(16);
      SgdMomentum opt(store, OptimizerConfig{});
      Tensor x = test::random_tensor({16, 1, 28, 28}, 3, -1, 1, DType::f32);
      Tensor y = Tensor::zeros({16}, DType::i32);
      for (int step = 0; step < 2; ++step) {
        ex.set_input("image", x);
        ex.set_input("label", y);
        ex.forward(Mode::train, StepInfo{step, 1});
        ex.backward();
        opt.step(0.05);
      }
      planned = ex.memory_plan().total() + store.param_arena().nbytes() +
                store.grad_arena().nbytes() + opt.velocity().nbytes() + x.nbytes() + y.nbytes();
      for (const auto& [dtype, t] : store.buffer_arenas()) planned += t.nbytes();
    }
    const double measured = static_cast<double>(cpu_allocation_stats().peak - before);
    EXPECT_NEAR(static_cast<double>(planned), measured, 0.05 * measured)
        << (qat ? "QAT" : "FP32") << ": planned " << planned << " bytes, allocator peak "
        << measured;
  }
}

}  // namespace
}  // namespace qf
