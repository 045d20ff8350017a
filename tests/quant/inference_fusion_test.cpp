// The inference pipeline's fusions (quant/inference_fusion.h): each one rewrites the graph as
// documented and the fused graph computes what the unfused one does within float rounding, on
// oneDNN (post-ops) and on the reference kernels; Winograd stays within its own, wider bound.
// Weights a loaded model never changes are packed once (frozen_params): the packed classifier
// computes what the reference does, pass after pass.
#include <gtest/gtest.h>

#include <random>

#include "launch/lib/model_source.h"
#include "models/builder.h"
#include "nn/executor.h"
#include "nn/param_store.h"
#include "nn/ops/inverted_residual/inverted_residual.h"
#include "quant/inference_fusion.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

// A graph that carries its weights: layer weights and biases ("layer.weight") random, BN
// statistics away from the identity so that folding changes numbers; other values as built.
Graph baked(Graph g) {
  CpuContext ctx;
  ParamStore store(g, ctx, 5);
  std::map<std::string, Tensor> state = store.state_dict();
  std::mt19937_64 gen(9);
  for (auto& [name, t] : state) {
    if (name.find('.') == std::string::npos) continue;  // quantization scales and zero points
    float lo = -0.5f, hi = 0.5f;
    if (name.find("running_var") != std::string::npos) lo = 0.5f, hi = 2.f;
    if (name.find("bn.weight") != std::string::npos) lo = 0.5f, hi = 1.5f;
    std::uniform_real_distribution<float> d(lo, hi);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(gen);
  }
  bake_weights(g, state, "test graph");
  return g;
}

Tensor images(int64_t n, int64_t c, int64_t hw) {
  Tensor t = Tensor::empty({n, c, hw, hw}, DType::f32);
  std::mt19937_64 gen(4);
  std::uniform_real_distribution<float> d(-2, 2);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(gen);
  return t;
}

Tensor run(const Graph& g, const Tensor& x, KernelKind kind) {
  CpuContext ctx(0, kind == KernelKind::cpu_ref);
  ParamStore store(g, ctx, 0);
  ExecOptions eo;
  eo.training = false;
  eo.frozen_params = true;
  Executor ex(g, store, ctx, eo);
  ex.prepare(x.dim(0));
  ex.set_input("image", x);
  ex.forward(Mode::eval);
  ex.forward(Mode::eval);  // twice: reordered weights kept from the first pass give the same
  return ex.tensor(g.outputs()[0]).clone();
}

int count(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes()) n += node.op == op;
  return n;
}

// Fuses `g` and checks the fused graph against the unfused one on both CPU kernel kinds.
InferenceFusionReport expect_same_after_fusion(const Graph& g, int64_t channels, double tol = 1e-5) {
  Graph f = g;
  const InferenceFusionReport r = fuse_for_inference(f);
  const Tensor x = images(3, channels, 9);
  for (KernelKind kind : {KernelKind::cpu, KernelKind::cpu_ref})
    EXPECT_LE(max_rel_diff(run(f, x, kind), run(g, x, kind)), tol)
        << (kind == KernelKind::cpu ? "oneDNN" : "reference");
  return r;
}

// image -> conv (bias) -> `act` -> conv (the graph output; so the fused value is not one).
Graph conv_then(const std::string& act, Attrs attrs = {}) {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 4, 9, 9});
  x = b.conv2d("c1", x, 4, 8, 3, 1, 1, 1, /*bias=*/true);
  x = b.op(act, "act", {x}, std::move(attrs));
  x = b.conv2d("c2", x, 8, 6, 1);
  g.mark_output(x);
  return baked(std::move(g));
}

TEST(InferenceFusion, EachActivationRunsInsideTheConvolution) {
  const std::vector<std::pair<std::string, Attrs>> acts = {
      {"relu", {}},
      {"relu6", {}},
      {"clip", {{"min", -0.25}, {"max", 0.75}}},
      {"hardswish", {}},
      {"hardsigmoid", {{"alpha", 0.2}, {"beta", 0.4}}}};
  for (const auto& [act, attrs] : acts) {
    SCOPED_TRACE(act);
    const Graph g = conv_then(act, attrs);
    const InferenceFusionReport r = expect_same_after_fusion(g, 4);
    EXPECT_EQ(r.activations, 1);
    Graph f = g;
    fuse_for_inference(f);
    EXPECT_EQ(count(f, act), 0);
    EXPECT_EQ(f.find_node("c1")->attrs.get_string("activation"), act);
  }
}

TEST(InferenceFusion, BatchNormFoldsAndItsActivationFollows) {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 4, 9, 9});
  x = b.conv2d("c", x, 4, 8, 3, 2, 1);
  x = b.batch_norm("bn", x, 8);
  x = b.relu6("act", x);
  x = b.conv2d("out", x, 8, 3, 1);
  g.mark_output(x);
  const InferenceFusionReport r = expect_same_after_fusion(baked(std::move(g)), 4);
  EXPECT_EQ(r.batch_norms, 1);
  EXPECT_EQ(r.activations, 1);
}

// ResNet's block ends: relu(conv3(y) + shortcut); the shortcut either the block input or, in a
// downsampling block, a second convolution that runs after conv3 (then that one absorbs the Add).
Graph residual_block(bool downsample, bool relu_after) {
  Graph g;
  ModelBuilder b(g);
  const int x = b.input("image", {-1, 8, 9, 9});
  int y = b.conv2d("conv1", x, 8, 8, 3, 1, 1, 1, true);
  y = b.relu("relu1", y);
  y = b.conv2d("conv3", y, 8, 8, 1, 1, 0, 1, true);
  const int shortcut = downsample ? b.conv2d("down", x, 8, 8, 1, 1, 0, 1, true) : x;
  int z = b.add("add", y, shortcut);
  if (relu_after) z = b.relu("relu2", z);
  z = b.conv2d("head", z, 8, 2, 1);
  g.mark_output(z);
  return baked(std::move(g));
}

TEST(InferenceFusion, ResidualAddIsASumPostOp) {
  for (bool downsample : {false, true})
    for (bool relu_after : {false, true}) {
      SCOPED_TRACE(str_cat("downsample ", downsample, ", relu after the add ", relu_after));
      const Graph g = residual_block(downsample, relu_after);
      const InferenceFusionReport r = expect_same_after_fusion(g, 8);
      EXPECT_EQ(r.residual_adds, 1);
      EXPECT_EQ(r.activations, relu_after ? 2 : 1);
      Graph f = g;
      fuse_for_inference(f);
      EXPECT_EQ(count(f, "add"), 0);
      // The Add joins the convolution that runs last: the shortcut conv of a downsampling block.
      const Node* owner = f.find_node(downsample ? "down" : "conv3");
      ASSERT_EQ(owner->inputs.size(), 4u);
      EXPECT_GE(owner->inputs[3], 0);
    }
}

TEST(InferenceFusion, ResidualStillReadLaterIsNotOverwritten) {
  // The shortcut x feeds the fused add and, afterwards, a second branch: the convolution may not
  // write its output over x (the executor's in-place rule), and the result must not change.
  Graph g;
  ModelBuilder b(g);
  const int x0 = b.input("image", {-1, 8, 9, 9});
  const int x = b.relu("pre", x0);
  int y = b.conv2d("conv", x, 8, 8, 3, 1, 1, 1, true);
  y = b.add("add", y, x);
  const int later = b.conv2d("later", x, 8, 8, 1);
  const int z = b.add("join", y, later);
  g.mark_output(b.conv2d("head", z, 8, 2, 1));
  const InferenceFusionReport r = expect_same_after_fusion(baked(std::move(g)), 8);
  EXPECT_EQ(r.residual_adds, 2);  // "add" into conv, then "join" into "later" (y is ready)
}

TEST(InferenceFusion, ValuesReadElsewhereOrAskedForStay) {
  Graph g;
  ModelBuilder b(g);
  const int x = b.input("image", {-1, 4, 9, 9});
  const int c = b.conv2d("conv", x, 4, 4, 3, 1, 1);
  const int r = b.relu("relu", c);
  const int other = b.sigmoid("other", c);  // a second reader of the conv's output
  g.mark_output(b.add("sum", r, other));
  Graph f = baked(std::move(g));
  EXPECT_EQ(fuse_for_inference(f).activations, 0);
  EXPECT_EQ(count(f, "relu"), 1);

  const Graph h = conv_then("relu");
  Graph asked = h;
  asked.mark_output(asked.value_id("c1"));  // the pre-activation value is an output: kept
  EXPECT_EQ(fuse_for_inference(asked).activations, 0);
}

TEST(InferenceFusion, WinogradStaysCloseToTheDirectConvolution) {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 64, 9, 9});
  x = b.conv2d("c3x3", x, 64, 64, 3, 1, 1, 1, true);
  x = b.relu("act", x);
  x = b.conv2d("strided", x, 64, 32, 3, 2, 1);  // stride 2: stays direct
  g.mark_output(x);
  Graph f = baked(std::move(g));
  const Graph direct = f;
  EXPECT_EQ(choose_winograd(f), 1);
  EXPECT_EQ(f.find_node("c3x3")->attrs.get_string("algorithm"), "winograd");
  EXPECT_FALSE(f.find_node("strided")->attrs.has("algorithm"));
  // Winograd rounds differently from the direct sum (its transforms add and scale inputs first):
  // a wider bound than the fusions', still far below what would move a classification.
  const Tensor x_in = images(2, 64, 9);
  EXPECT_LE(max_rel_diff(run(f, x_in, KernelKind::cpu), run(direct, x_in, KernelKind::cpu)), 1e-4);
}

TEST(InferenceFusion, Int8ResidualJoinIsOnePassAndBitForBit) {
  // A QDQ residual join as `qforge ptq` writes it for ResNet (the shortcut stays float):
  // relu(DequantizeLinear(QuantizeLinear(a)) + shortcut).
  for (bool with_zero_point : {true, false}) {
    SCOPED_TRACE(with_zero_point ? "int8 with a zero point" : "uint8");
    Graph g;
    ModelBuilder b(g);
    const int x = b.input("image", {-1, 8, 9, 9});
    const int shortcut = b.relu("pre", x);
    const int a = b.conv2d("conv", shortcut, 8, 8, 3, 1, 1, 1, true);
    std::vector<int> q_in{a, b.param("s", {1}, Init::from(Tensor::from({1}, {0.04f})))};
    if (with_zero_point) {
      Tensor zp = Tensor::empty({1}, DType::i8);
      zp.data<int8_t>()[0] = -5;
      q_in.push_back(b.buffer("zp", {1}, Init::from(zp), DType::i8));
    }
    const int q = b.op("quantize_linear", "q", q_in);
    q_in[0] = q;
    const int d = b.op("dequantize_linear", "dq", q_in);
    const int y = b.relu("relu", b.add("add", d, shortcut));
    g.mark_output(b.conv2d("head", y, 8, 2, 1));
    const Graph unfused = baked(std::move(g));
    Graph f = unfused;
    EXPECT_EQ(fuse_dequantize_adds(f), 1);
    EXPECT_EQ(count(f, "add") + count(f, "relu") + count(f, "dequantize_linear"), 1);  // "pre"
    const Tensor x_in = images(2, 8, 9);
    EXPECT_EQ(max_rel_diff(run(f, x_in, KernelKind::cpu), run(unfused, x_in, KernelKind::cpu)), 0.0);
  }
}

// MobileNetV2's block: expand 1x1 -> relu6 -> depthwise 3x3 -> relu6 -> project 1x1 (+ input).
Graph inverted_residual_block(int64_t stride, bool depthwise_read_elsewhere) {
  Graph g;
  ModelBuilder b(g);
  const int x = b.input("image", {-1, 8, 9, 9});
  const int h = b.relu6("expand_act", b.conv2d("expand", x, 8, 48, 1, 1, 0, 1, true));
  int d = b.conv2d("depthwise", h, 48, 48, 3, stride, 1, /*groups=*/48, true);
  d = b.relu6("depthwise_act", d);
  int y = b.conv2d("project", d, 48, 8, 1, 1, 0, 1, true);
  if (stride == 1) y = b.add("add", y, x);
  g.mark_output(b.conv2d("head", y, 8, 2, 1));
  if (depthwise_read_elsewhere) g.mark_output(b.conv2d("other", d, 48, 2, 1));
  return baked(std::move(g));
}

TEST(InferenceFusion, ExpandDepthwiseProjectBecomeOneBlock) {
  for (int64_t stride : {1, 2}) {
    SCOPED_TRACE(str_cat("stride ", stride));
    const Graph g = inverted_residual_block(stride, false);
    const InferenceFusionReport r = expect_same_after_fusion(g, 8);
    EXPECT_EQ(r.inverted_residuals, 1);
    Graph f = g;
    fuse_for_inference(f);
    EXPECT_EQ(count(f, "inverted_residual"), 1);
    EXPECT_EQ(count(f, "conv2d"), 1);  // the head
    const Node* block = f.find_node("project");
    ASSERT_NE(block, nullptr);
    EXPECT_EQ(block->attrs.get_string("expand.activation"), "relu6");
    EXPECT_EQ(block->attrs.get_int("depthwise.group"), 48);
    EXPECT_EQ(block->inputs[kIrResidual] >= 0, stride == 1);  // the Add rides along
  }
}

TEST(InferenceFusion, DepthwiseOutputReadElsewhereKeepsTheConvolutions) {
  const Graph g = inverted_residual_block(1, /*depthwise_read_elsewhere=*/true);
  const InferenceFusionReport r = expect_same_after_fusion(g, 8);
  EXPECT_EQ(r.inverted_residuals, 0);
  EXPECT_EQ(r.activations, 2);  // both relu6 still join their convolutions
  Graph f = g;
  fuse_for_inference(f);
  EXPECT_EQ(count(f, "conv2d"), 5);
}

TEST(InferencePipeline, FrozenClassifierWeightsPackedOnceMatchTheReference) {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 4, 9, 9});
  x = b.conv2d("c1", x, 4, 24, 3, 1, 1, 1, /*bias=*/true);
  x = b.flatten("flat", b.global_avg_pool("gap", x));
  x = b.linear("fc", x, 24, 1000);
  g.mark_output(x);
  const Graph baked_graph = baked(std::move(g));
  for (int64_t n : {1, 3}) {  // run() makes two passes: the second reads the packed copy
    SCOPED_TRACE(n);
    const Tensor img = images(n, 4, 9);
    EXPECT_LE(max_rel_diff(run(baked_graph, img, KernelKind::cpu),
                           run(baked_graph, img, KernelKind::cpu_ref)),
              1e-5);
  }
}

}  // namespace
}  // namespace qf::test
