// Static PTQ end to end on a small CNN: Conv+BN folding, the plan, calibration statistics, weight
// quantization (rounding, bias correction), the QDQ graph, and the int8 engine agreeing with the
// QDQ graph run as written (Q/DQ ops in float).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "launch/lib/model_source.h"
#include "models/builder.h"
#include "nn/executor.h"
#include "nn/param_store.h"
#include "quant/fuse_conv_bn.h"
#include "quant/int8_lowering.h"
#include "quant/ptq.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

// Random images (3, 12, 12) in [-1, 1], deterministic per index.
class RandomImages final : public Dataset {
 public:
  explicit RandomImages(int64_t n, float nan_at = -1) : n_(n), nan_at_(nan_at) {}
  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return {3, 12, 12}; }
  int num_classes() const override { return 5; }
  std::string describe() const override { return "random images"; }
  int32_t get(int64_t index, float* out, SampleRng&) const override {
    std::mt19937_64 gen(static_cast<uint64_t>(index) + 11);
    std::uniform_real_distribution<float> d(-1, 1);
    for (int i = 0; i < 3 * 144; ++i) out[i] = d(gen);
    if (index == nan_at_) out[5] = NAN;
    return static_cast<int32_t>(index % 5);
  }

 private:
  int64_t n_;
  float nan_at_;
};

// conv-bn-relu, depthwise conv-bn-relu6, pointwise conv-bn-relu, pooling, linear.
Graph small_cnn() {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 3, 12, 12});
  x = b.conv2d("features.0.0", x, 3, 8, 3, 1, 1);
  x = b.batch_norm("features.0.1", x, 8);
  x = b.relu("features.0.2", x);
  x = b.conv2d("features.1.0", x, 8, 8, 3, 2, 1, 8);
  x = b.batch_norm("features.1.1", x, 8);
  x = b.relu6("features.1.2", x);
  x = b.conv2d("features.2.0", x, 8, 16, 1, 1, 0);
  x = b.batch_norm("features.2.1", x, 16);
  x = b.relu("features.2.2", x);
  x = b.global_avg_pool("avgpool", x);
  x = b.flatten("flatten", x);
  x = b.linear("fc", x, 16, 5, true, Init::normal(0, 0.3), Init::uniform(-0.1, 0.1));
  g.mark_output(x);
  // Weights with data, BN statistics away from the identity so that folding matters.
  CpuContext ctx;
  ParamStore store(g, ctx, 7);
  std::map<std::string, Tensor> state = store.state_dict();
  std::mt19937_64 gen(3);
  for (auto& [name, t] : state) {
    const bool var = name.find("running_var") != std::string::npos;
    const bool bn = name.find("features") != std::string::npos && name.find(".1.") != std::string::npos;
    if (!bn) continue;
    std::uniform_real_distribution<float> d(var ? 0.5f : -0.3f, var ? 2.f : 0.3f);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(gen) + (name.find(".weight") != std::string::npos ? 1.f : 0.f);
  }
  bake_weights(g, state, "small_cnn");
  return g;
}

Tensor run(const Graph& g, const Tensor& images, KernelKind kind = KernelKind::cpu) {
  CpuContext ctx(0, kind == KernelKind::cpu_ref);
  ParamStore store(g, ctx, 0);
  ExecOptions eo;
  eo.training = false;
  Executor ex(g, store, ctx, eo);
  ex.prepare(images.dim(0));
  ex.set_input("image", images);
  ex.forward(Mode::eval);
  return ex.tensor(g.outputs()[0]).clone();
}

Tensor batch_of(const Dataset& d, int64_t first, int64_t n) {
  // Channels-last (N, 3, 12, 12): each sample (12, 12, 3) — the dataset writes (H, W, C) already.
  Tensor t = Tensor::empty({n, 3, 12, 12}, DType::f32);
  SampleRng rng(0);
  for (int64_t i = 0; i < n; ++i) d.get(first + i, t.data<float>() + i * 432, rng);
  return t;
}

TEST(FuseConvBn, FoldedModelComputesTheSame) {
  const Graph g = small_cnn();
  Graph f = g;
  EXPECT_EQ(fuse_conv_bn(f), 3);
  for (const Node& n : f.nodes()) EXPECT_NE(n.op, "batch_norm");
  const Tensor x = batch_of(RandomImages(8), 0, 8);
  EXPECT_LE(max_rel_diff(run(f, x), run(g, x)), 1e-5);
  // Exactly W' = W k, b' = (0 - mean) k + beta for channel 0 of the stem.
  const Tensor& w = g.value(g.value_id("features.0.0.weight")).init.data;
  auto v = [&](const char* n) { return g.value(g.value_id(n)).init.data.data<float>()[0]; };
  const double k = v("features.0.1.weight") / std::sqrt(v("features.0.1.running_var") + 1e-5);
  const Node* conv = f.find_node("features.0.0");
  EXPECT_NEAR(f.value(conv->inputs[1]).init.data.data<float>()[0], w.data<float>()[0] * k, 1e-6);
  EXPECT_NEAR(f.value(conv->inputs[2]).init.data.data<float>()[0],
              -v("features.0.1.running_mean") * k + v("features.0.1.bias"), 1e-6);
}

TEST(PtqPlan, QuantizableOpsAndTheirActivations) {
  Graph g = small_cnn();
  fuse_conv_bn(g);
  PtqConfig c;
  c.out = "x.onnx";
  PtqPlan p = plan_ptq(g, c);
  EXPECT_EQ(p.types, (std::vector<std::string>{"conv2d", "depthwise_conv2d", "conv2d", "mul"}));
  // Inputs and outputs: image, 3 conv outputs, 2 activation outputs, flatten, fc.
  EXPECT_EQ(p.activations.size(), 8u);
  c.quantizable_op_type = {"depthwise_conv2d"};
  EXPECT_EQ(plan_ptq(g, c).nodes, (std::vector<std::string>{"features.1.0"}));
  c.quantizable_op_type = {"conv2d", "depthwise_conv2d", "mul"};
  c.skip_tensor_list = {"flatten"};
  p = plan_ptq(g, c);
  EXPECT_EQ(p.nodes.size(), 3u);
  ASSERT_EQ(p.skipped.size(), 1u);
  EXPECT_NE(p.skipped[0].find("fc"), std::string::npos);
  c.skip_tensor_list = {"no_such_tensor"};
  EXPECT_THROW(plan_ptq(g, c), InputError);
}

TEST(Ptq, AbsMaxCalibrationIsTheLargestActivation) {
  Graph g = small_cnn();
  fuse_conv_bn(g);
  PtqConfig c;
  c.algo = "abs_max";
  c.batch_nums = 3;
  c.batch_size = 4;
  const RandomImages data(20);
  CpuContext ctx;
  LocalCommunicator local;
  const PtqPlan p = plan_ptq(g, c);
  const auto t = calibrate(g, p, c, data, ctx, {}, local);
  // The image's threshold is the largest |pixel| of the 12 calibration samples.
  float m = 0;
  const Tensor x = batch_of(data, 0, 12);
  for (int64_t i = 0; i < x.numel(); ++i) m = std::max(m, std::fabs(x.data<float>()[i]));
  EXPECT_EQ(t.at("image"), m);
  EXPECT_EQ(t.size(), p.activations.size());
}

TEST(Ptq, CalibrationInputErrors) {
  Graph g = small_cnn();
  PtqConfig c;
  c.batch_nums = 3;
  c.batch_size = 4;
  CpuContext ctx;
  LocalCommunicator local;
  const PtqPlan p = plan_ptq(g, c);
  EXPECT_THROW(calibrate(g, p, c, RandomImages(0), ctx, {}, local), InputError);
  EXPECT_THROW(calibrate(g, p, c, RandomImages(11), ctx, {}, local), InputError);
  try {
    calibrate(g, p, c, RandomImages(12, 6), ctx, {}, local);
    FAIL() << "NaN in an activation must be an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("batch 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("NaN"), std::string::npos) << e.what();
  }
}

TEST(QuantizeWeight, PerChannelRoundHalfEvenAndBiasCorrection) {
  // Channel 0: T = 127 -> steps of 1; 0.5 is a tie -> 0 (half to even), -1.5 -> -2.
  // Channel 1: T = 254 -> steps of 2: 3 -> 1.5 -> 2, 1 -> 0.5 -> 0.
  const Tensor w = Tensor::from({2, 3}, {127.f, 0.5f, -1.5f, -254.f, 3.f, 1.f});
  const QuantizedWeight q = quantize_weight(w, true, 8, false);
  EXPECT_EQ(q.thresholds, (std::vector<float>{127.f, 254.f}));
  const int8_t want[6] = {127, 0, -2, -127, 2, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(q.q.data<int8_t>()[i], want[i]) << i;
  const QuantizedWeight t = quantize_weight(w, false, 8, false);
  EXPECT_EQ(t.thresholds, (std::vector<float>{254.f}));
  EXPECT_EQ(t.q.data<int8_t>()[0], 64);  // 127 / 2 = 63.5 -> 64 (even)

  // Bias correction moves the dequantized weights' mean and std back to the float ones:
  // W = {1, 0.3, 0.3, 0.3}, T = 1, bnt = 7 (4 bits): q = {7, 2, 2, 2}, W^ = {1, 2/7 x3}.
  const Tensor w4 = Tensor::from({1, 4}, {1.f, 0.3f, 0.3f, 0.3f});
  const QuantizedWeight b = quantize_weight(w4, true, 4, true);
  // mean(W - W^) = 0.3 * 3/4 - 6/28 = 0.010714..., std ratio ~1.0: W'= W^ + 0.0107 -> 0.2964 -> 2.07.
  const int16_t* qb = b.q.data<int16_t>();
  EXPECT_EQ(qb[0], 7);
  EXPECT_EQ(qb[1], 2);
}

TEST(Ptq, Int8EngineAgreesWithTheQdqGraph) {
  Graph g = small_cnn();
  fuse_conv_bn(g);
  for (const char* algo : {"KL", "mse", "avg"}) {
    PtqConfig c;
    c.algo = algo;
    c.batch_nums = 2;
    c.batch_size = 8;
    const RandomImages data(64);
    CpuContext ctx;
    LocalCommunicator local;
    const PtqPlan p = plan_ptq(g, c);
    const auto t = calibrate(g, p, c, data, ctx, {}, local);
    QdqReport rep;
    const Graph qdq = build_qdq_graph(g, p, t, c, &rep);
    EXPECT_EQ(rep.quantized_ops, 4);
    EXPECT_EQ(rep.int32_biases, 4);
    Graph int8 = qdq;
    const Int8LoweringReport lr = lower_to_int8(int8);
    EXPECT_EQ(lr.int8_ops, 4) << lr.why_float;
    EXPECT_EQ(lr.float_ops, 0);
    int qops = 0;
    for (const Node& n : int8.nodes()) qops += n.op == "qconv2d" || n.op == "qlinear";
    EXPECT_EQ(qops, 4);
    const Tensor x = batch_of(data, 16, 32);
    const Tensor a = run(qdq, x), b = run(int8, x), f = run(g, x), r = run(int8, x, KernelKind::cpu_ref);
    // The logits stay float. The int8 engine accumulates in int32, the QDQ graph in float: equal
    // up to float rounding, except where that rounding moves an inner activation across a
    // quantization step (a few elements), and never by more than one step of the logits' range.
    const double step = t.at(g.value(g.outputs()[0]).name) / 127;
    double scale = 0;
    for (int64_t i = 0; i < a.numel(); ++i) scale = std::max(scale, double(std::fabs(a.data<float>()[i])));
    int differ = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      const double d = std::fabs(a.data<float>()[i] - b.data<float>()[i]);
      EXPECT_LE(d, step) << algo << " element " << i;
      differ += d > 1e-5 * scale;
      EXPECT_LE(std::fabs(b.data<float>()[i] - r.data<float>()[i]), 1e-5 * scale);
    }
    EXPECT_LE(differ, a.numel() / 50) << algo;
    // And the quantized model stays close to the float one (KL on 16 random images clips the
    // 256 pooled values hard; it is checked for agreement only).
    if (std::string(algo) == "KL") continue;
    double num = 0, den = 0;
    for (int64_t i = 0; i < a.numel(); ++i) {
      num += std::pow(a.data<float>()[i] - f.data<float>()[i], 2);
      den += std::pow(f.data<float>()[i], 2);
    }
    EXPECT_LE(std::sqrt(num / den), 0.1) << algo;
  }
}

}  // namespace
}  // namespace qf::test
