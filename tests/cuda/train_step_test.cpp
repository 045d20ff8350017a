// Whole training steps on the GPU against the CPU: MobileNetV1 (FP32) forward, backward and SGD on
// one batch, compared tensor by tensor with the CPU's fast kernels; a step recorded as a CUDA graph
// and replayed against the same steps run eagerly; and the Trainer end to end on both devices.
// Tolerances (max over elements of |gpu - cpu| / (1 + |cpu|)), float32 with TF32 off: loss 1e-4,
// gradients 2e-3 (batch-norm backward over small batches amplifies summation-order rounding),
// parameters after the update 1e-4; recorded vs eager on one GPU: 1e-6 (same kernels, same
// algorithms). Skipped where no GPU is usable; every piece is tested on the CPU elsewhere.
#include <gtest/gtest.h>

#include <cmath>

#include "models/registry.h"
#include "tests/cuda/gpu_step.h"
#include "trainer/trainer.h"

namespace qf::test {
namespace {

TEST(CudaTrainStep, MobileNetV1Fp32StepMatchesTheCpu) {
  QF_SKIP_WITHOUT_GPU();
  ModelConfig mc;
  mc.name = "mobilenet_v1";
  mc.scale = 0.5;
  Graph g = build_model(mc);
  add_classification_loss(g, g.outputs()[0], 0.1);
  CpuContext cpu;
  float cpu_loss = 0, gpu_loss = 0;
  const auto c = train_steps(g, cpu, 16, {1, 28, 28}, 10, 1, false, &cpu_loss);
  const auto d = train_steps(g, test_cuda_context(), 16, {1, 28, 28}, 10, 1, false, &gpu_loss);
  EXPECT_NEAR(gpu_loss, cpu_loss, 1e-4 * (1 + std::fabs(cpu_loss)));
  std::string worst;
  EXPECT_LE(max_diff(d, c, "grad.", &worst), 2e-3) << worst;
  EXPECT_LE(max_diff(d, c, "features", &worst), 1e-4) << worst;  // params and BN statistics
  EXPECT_LE(max_diff(d, c, "fc", &worst), 1e-4) << worst;
}

Graph dropout_graph() {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 3, 12, 12});
  x = b.conv2d("conv", x, 3, 8, 3, 1, 1);
  x = b.batch_norm("bn", x, 8);
  x = b.hardswish("act", x);
  x = b.max_pool2d("pool", x, 2, 2);
  x = b.flatten("flatten", x);
  x = b.dropout("drop", x, 0.3);
  x = b.linear("fc", x, 8 * 6 * 6, 5);
  g.mark_output(x);
  add_classification_loss(g, x, 0.0);
  return g;
}

TEST(CudaTrainStep, RecordedStepsEqualEagerSteps) {
  QF_SKIP_WITHOUT_GPU();
  // Five steps with a new batch, step number (dropout mask) and learning rate each: the recorded
  // graph must pick up all three at every replay.
  const Graph g = dropout_graph();
  DeviceContext& gpu = test_cuda_context();
  const auto eager = train_steps(g, gpu, 8, {3, 12, 12}, 5, 5, false);
  bool was_recorded = false;
  const auto recorded = train_steps(g, gpu, 8, {3, 12, 12}, 5, 5, true, nullptr, &was_recorded);
  EXPECT_TRUE(was_recorded) << "steps 2 to 5 must run as replays of a CUDA graph";
  std::string worst;
  EXPECT_LE(max_diff(recorded, eager, "", &worst), 1e-6) << worst;
  // And the same five steps on the CPU (identical dropout masks on both devices).
  CpuContext cpu;
  const auto host = train_steps(g, cpu, 8, {3, 12, 12}, 5, 5, false);
  EXPECT_LE(max_diff(recorded, host, "fc", &worst), 1e-3) << worst;
  EXPECT_LE(max_diff(recorded, host, "conv", &worst), 1e-3) << worst;
}

class PatternDataset final : public Dataset {
 public:
  int64_t size() const override { return 96; }
  Shape sample_shape() const override { return {3, 12, 12}; }
  int num_classes() const override { return 5; }
  int32_t get(int64_t i, float* out, SampleRng&) const override {
    const int32_t label = static_cast<int32_t>(i % 5);
    for (int k = 0; k < 3 * 144; ++k)
      out[k] = static_cast<float>(((k * (label + 1) + i) % 13) / 13.0 - 0.5);
    return label;
  }
  std::string describe() const override { return "pattern dataset"; }
};

std::map<std::string, Tensor> fit(DeviceContext& ctx) {
  const Graph g = dropout_graph();
  ParamStore store(g, ctx, 3);
  LocalCommunicator comm;
  Console console(false, false);
  PatternDataset data;
  TrainerSetup s{g, store, ctx, comm, console, data, nullptr};
  s.train.epochs = 1;
  s.train.seed = 3;
  s.train.eval_each_epoch = false;
  s.loader.batch_size = 16;
  s.loader.workers = 1;
  s.optimizer.lr = 0.05;
  Trainer t(s);
  t.fit();
  return store.state_dict();
}

TEST(CudaTrainStep, TrainerOnTheGpuFollowsTheCpu) {
  QF_SKIP_WITHOUT_GPU();
  CpuContext cpu;
  const auto host = fit(cpu);
  const auto dev = fit(test_cuda_context());
  std::string worst;
  EXPECT_LE(max_diff(dev, host, "", &worst), 5e-3) << worst;  // six steps of drift
}

}  // namespace
}  // namespace qf::test
