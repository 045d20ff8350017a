// quant_aware pass: which ops get quantized and how (types, axes, names, sharing),
// not_quant_pattern skipping, quant_weight_only, PACT, op-type selection, observers, the freeze
// schedules, config validation, and a QAT graph training identically on fast and reference kernels.
#include "quant/quant_aware.h"

#include <gtest/gtest.h>

#include "launch/lib/quant_keys.h"
#include "models/registry.h"
#include "nn/executor.h"
#include "tests/op_check.h"
#include "trainer/optimizer.h"

namespace qf {
namespace {

Graph mobilenet(double scale = 0.25) {
  ModelConfig mc;
  mc.scale = scale;
  Graph g = build_model(mc);
  add_classification_loss(g, g.outputs()[0], 0.0);
  return g;
}

const Node& node(const Graph& g, const std::string& name) {
  const Node* n = g.find_node(name);
  EXPECT_NE(n, nullptr) << name;
  return *n;
}

const Node& producer(const Graph& g, int v) {
  for (const Node& n : g.nodes())
    if (n.outputs[0] == v) return n;
  throw InternalError("no producer");
}

TEST(QuantAware, MobileNetV1DefaultsQuantizeEveryConvAndTheClassifier) {
  Graph g = mobilenet();
  EXPECT_EQ(paddle_op_type(g, node(g, "features.1.0.0")), "depthwise_conv2d");
  EXPECT_EQ(paddle_op_type(g, node(g, "features.1.1.0")), "conv2d");
  EXPECT_EQ(paddle_op_type(g, node(g, "fc")), "mul");
  const QuantAwareReport r = quant_aware(g, QuantConfig{});
  EXPECT_EQ(r.quantized.size(), 28u);  // 27 convs + fc
  EXPECT_EQ(r.weight_quantizers, 28);
  EXPECT_EQ(r.activation_quantizers, 28);
  EXPECT_EQ(r.observers, 1);  // the last conv unit feeds average pooling, which is not quantized
  EXPECT_TRUE(r.skipped.empty());
  const Node& conv = node(g, "features.1.0.0");
  const Node& wq = producer(g, conv.inputs[1]);
  EXPECT_EQ(wq.name, "features.1.0.0.weight_quant");
  EXPECT_EQ(wq.op, "fake_channel_wise_quantize_dequantize_abs_max");
  EXPECT_EQ(wq.attrs.get_int("quant_axis"), 0);  // (O, 1, 3, 3): output channels
  EXPECT_EQ(g.value(wq.inputs[1]).shape, (Shape{8}));
  EXPECT_EQ(g.value(wq.inputs[0]).name, "features.1.0.0.weight");
  const Node& aq = producer(g, conv.inputs[0]);
  EXPECT_EQ(aq.name, "features.1.0.0.act_quant");
  EXPECT_EQ(aq.op, "fake_quantize_dequantize_moving_average_abs_max");
  EXPECT_EQ(g.value(aq.inputs[0]).name, "features.0.2");  // the stem's relu
  EXPECT_EQ(aq.attrs.get_int("sync_scales"), 1);
  EXPECT_EQ(wq.attrs.get_int("sync_scales"), 0);  // weights agree on every rank already
  const Node& fq = producer(g, node(g, "fc").inputs[1]);
  EXPECT_EQ(fq.attrs.get_int("quant_axis"), 0);  // (out, in): per output feature
  EXPECT_EQ(g.value(fq.inputs[1]).shape, (Shape{10}));
  EXPECT_NE(g.find_value("features.13.1.0.out_observer.scale"), -1);
  EXPECT_EQ(node(g, "avgpool").inputs[0], g.value_id("features.13.1.0.out_observer"));
  // Initial quantizer state (Paddle's 0.001 / 1 / 1).
  EXPECT_EQ(g.value(aq.inputs[1]).init.a, 0.001);
  EXPECT_EQ(g.value(aq.inputs[2]).init.kind, Init::Kind::ones);
  EXPECT_THROW(quant_aware(g, QuantConfig{}), InputError);  // already quantized
}

TEST(QuantAware, NotQuantPatternSkipsBySubstringOfTheScopeName) {
  Graph g = mobilenet();
  QuantConfig c;
  c.not_quant_pattern = {"features.0.", "fc"};
  const QuantAwareReport r = quant_aware(g, c);
  EXPECT_EQ(r.skipped, (std::vector<std::string>{"features.0.0", "fc"}));
  EXPECT_EQ(r.quantized.size(), 26u);
  const Node& stem = node(g, "features.0.0");
  EXPECT_EQ(g.value(stem.inputs[0]).name, "image");
  EXPECT_EQ(g.value(stem.inputs[1]).name, "features.0.0.weight");
  EXPECT_EQ(g.value(node(g, "fc").inputs[1]).name, "fc.weight");
}

TEST(QuantAware, QuantWeightOnlyLeavesActivationsInFloat) {
  Graph g = mobilenet();
  QuantConfig c;
  c.quant_weight_only = true;
  const QuantAwareReport r = quant_aware(g, c);
  EXPECT_EQ(r.weight_quantizers, 28);
  EXPECT_EQ(r.activation_quantizers, 0);
  EXPECT_EQ(r.observers, 0);
  for (const Node& n : g.nodes())
    if (n.op == "conv2d" || n.op == "linear") {
      EXPECT_TRUE(is_fake_quant_op(producer(g, n.inputs[1]).op)) << n.name;
      if (n.name != "features.0.0")
        EXPECT_FALSE(is_fake_quant_op(producer(g, n.inputs[0]).op)) << n.name;
    }
}

TEST(QuantAware, OpTypesSelectAndLayerTypesMapOntoThem) {
  Graph g = mobilenet();
  QuantConfig c;
  c.quantize_op_types = {"depthwise_conv2d"};
  EXPECT_EQ(quant_aware(g, c).quantized.size(), 13u);
  Graph h = mobilenet();
  ConfigSchema s;
  QuantSection d;
  bind_quant_config(s, d);
  s.parse_args({"--quant.quantizable_layer_type", "Linear"});
  s.validate();
  EXPECT_EQ(d.config.quantize_op_types, std::vector<std::string>{"mul"});
  EXPECT_EQ(quant_aware(h, d.config).quantized, std::vector<std::string>{"fc"});
}

// x -> conv a -> relu r; y = r + r2 where r2 = relu(conv b(r)); pool; one value feeds two
// quantized ops and an add with two activation inputs.
Graph residual_graph() {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 2, 6, 6});
  int r = b.relu("r", b.conv2d("a", x, 2, 4, 3, 1, 1));
  int r2 = b.relu("r2", b.conv2d("b", r, 4, 4, 3, 1, 1));
  int c2 = b.conv2d("c", r, 4, 4, 1);
  int s = b.add("sum", r2, c2);
  int p = b.global_avg_pool("pool", s);
  int f = b.flatten("flat", p);
  g.mark_output(b.linear("fc", f, 4, 3));
  add_classification_loss(g, g.outputs()[0], 0.0);
  return g;
}

TEST(QuantAware, EachValueIsQuantizedOnceAndShared) {
  Graph g = residual_graph();
  QuantConfig c;
  c.quantize_op_types = {"conv2d", "mul", "elementwise_add", "pool2d"};
  c.activation_quantize_type = QuantizerType::range_abs_max;
  c.weight_quantize_type = QuantizerType::abs_max;
  c.window_size = 5;
  const QuantAwareReport r = quant_aware(g, c);
  EXPECT_EQ(node(g, "b").inputs[0], node(g, "c").inputs[0]);  // r quantized once
  EXPECT_EQ(g.value(node(g, "b").inputs[0]).name, "b.act_quant");
  EXPECT_EQ(g.value(node(g, "sum").inputs[0]).name, "sum.act_quant.0");
  EXPECT_EQ(g.value(node(g, "sum").inputs[1]).name, "sum.act_quant.1");
  EXPECT_EQ(g.value(node(g, "pool").inputs[0]).name, "pool.act_quant");
  const Node& aq = node(g, "b.act_quant");
  EXPECT_EQ(aq.op, "fake_quantize_dequantize_range_abs_max");
  EXPECT_EQ(g.value(aq.inputs[2]).shape, (Shape{5}));
  EXPECT_EQ(node(g, "a.weight_quant").op, "fake_quantize_dequantize_abs_max");
  EXPECT_EQ(r.activation_quantizers, 6);  // image, r (shared by b and c), r2, c, sum, flat
  EXPECT_EQ(r.observers, 0);              // every conv unit's end is quantized
}

TEST(QuantAware, PactClipsBeforeActivationQuantizers) {
  Graph g = residual_graph();
  QuantConfig c;
  c.activation_pact = true;
  c.weight_pact = true;
  const QuantAwareReport r = quant_aware(g, c);
  const Node& aq = node(g, "b.act_quant");
  const Node& pact = producer(g, aq.inputs[0]);
  EXPECT_EQ(pact.op, "pact");
  EXPECT_EQ(pact.name, "b.act_pact");
  const Value& alpha = g.value(pact.inputs[1]);
  EXPECT_EQ(alpha.kind, ValueKind::param);
  EXPECT_EQ(alpha.init.a, 100.0);
  EXPECT_EQ(alpha.lr_mult, 1000.f);
  EXPECT_EQ(alpha.decay_mult, 1.f);
  EXPECT_EQ(producer(g, node(g, "b.weight_quant").inputs[0]).op, "pact");
  EXPECT_EQ(r.pacts, r.weight_quantizers + r.activation_quantizers);
}

TEST(QuantAware, FreezeSchedulesTouchOnlyTheirNodes) {
  Graph g = mobilenet();
  quant_aware(g, QuantConfig{});
  EXPECT_EQ(freeze_batch_norm(g), 27);
  EXPECT_EQ(node(g, "features.3.1.1").attrs.get_int("use_running_stats"), 1);
  EXPECT_EQ(freeze_activation_scales(g), 29);  // 28 activation quantizers + 1 observer
  EXPECT_EQ(node(g, "features.2.0.0.act_quant").attrs.get_int("frozen"), 1);
  EXPECT_FALSE(node(g, "features.2.0.0.weight_quant").attrs.has("frozen"));
}

TEST(QuantConfig, BadValuesNameTheKeyTheValueAndTheAllowedValues) {
  auto error_of = [](std::vector<std::string> args) -> std::string {
    ConfigSchema s;
    QuantSection c;
    bind_quant_config(s, c);
    try {
      s.parse_args(args);
      s.validate();
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  std::string e = error_of({"--quant.activation_quantize_type", "channel_wise_abs_max"});
  EXPECT_NE(e.find("quant.activation_quantize_type: 'channel_wise_abs_max'"), std::string::npos)
      << e;
  EXPECT_NE(e.find("moving_average_abs_max"), std::string::npos) << e;
  e = error_of({"--quant.weight_bits", "0"});
  EXPECT_NE(e.find("quant.weight_bits: '0'"), std::string::npos) << e;
  EXPECT_NE(e.find("2 to 16"), std::string::npos) << e;
  e = error_of({"--quant.activation_bits", "17"});
  EXPECT_NE(e.find("quant.activation_bits: '17'"), std::string::npos) << e;
  e = error_of({"--quant.quantize_op_types", "conv2d,softmax"});
  EXPECT_NE(e.find("quant.quantize_op_types"), std::string::npos) << e;
  EXPECT_NE(e.find("softmax"), std::string::npos) << e;
  EXPECT_NE(e.find("elementwise_add"), std::string::npos) << e;
  e = error_of({"--quant.moving_rate", "1"});
  EXPECT_NE(e.find("quant.moving_rate: '1'"), std::string::npos) << e;
  EXPECT_NE(e.find("(0, 1)"), std::string::npos) << e;
  EXPECT_NE(error_of({"--quant.moving_rate", "0"}), "");
  EXPECT_NE(error_of({"--quant.dtype", "uint8"}).find("allowed: int8"), std::string::npos);
  EXPECT_NE(error_of({"--quant.activation_preprocess_type", "pact"}).find("PACT"),
            std::string::npos);
  e = error_of({"--quant.quantize_op_types", "conv2d", "--quant.quantizable_layer_type", "Linear"});
  EXPECT_NE(e.find("disagrees"), std::string::npos) << e;
  EXPECT_EQ(error_of({"--quant.quantizable_layer_type", "Conv2D"}), "");
  EXPECT_EQ(error_of({}), "");
}

// One QAT training step of a small graph runs identically on the fast and reference kernels.
TEST(QuantAware, TrainingStepMatchesReferenceKernels) {
  auto step = [](bool reference) {
    Graph g = residual_graph();
    QuantConfig c;
    c.quantize_op_types = {"conv2d", "mul", "elementwise_add"};
    c.activation_pact = true;
    c.pact_alpha_init = 1.5;
    quant_aware(g, c);
    CpuContext ctx(2, reference);
    ParamStore store(g, ctx, 5);
    Executor ex(g, store, ctx);
    ex.prepare(4);
    ex.set_input("image", test::random_tensor({4, 2, 6, 6}, 9, -2, 2, DType::f32));
    Tensor labels = Tensor::empty({4}, DType::i32);
    for (int i = 0; i < 4; ++i) labels.data<int32_t>()[i] = i % 3;
    ex.set_input("label", labels);
    OptimizerConfig oc;
    oc.lr = 0.05;
    SgdMomentum opt(store, oc);
    for (int s = 0; s < 2; ++s) {
      ex.forward(Mode::train, StepInfo{s, 1});
      ex.backward();
      opt.step(0.05);
    }
    return store.state_dict();
  };
  const auto fast = step(false), ref = step(true);
  for (const auto& [name, t] : ref) EXPECT_LE(test::max_rel_diff(fast.at(name), t), 2e-4) << name;
  EXPECT_NE(ref.at("b.act_pact.alpha").data<float>()[0], 1.5f);  // alpha trained
}

}  // namespace
}  // namespace qf
