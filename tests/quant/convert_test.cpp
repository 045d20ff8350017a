// convert and ONNX export of a quant-aware graph: both forms compute what training simulated; the
// int8 graph has int8 weights with per-channel scales, folded BatchNorm, int32 biases and Q/DQ on
// conv inputs and outputs; the files pass libonnx's checker and are ~4x smaller than FP32; and ONNX
// Runtime (when tools/ort has it installed) produces the logits qforge's own kernels do.
#include "quant/convert.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/onnx_export.h"
#include "io/onnx_file.h"
#include "models/registry.h"
#include "nn/executor.h"
#include "quant/quant_aware.h"
#include "tests/io/temp_dir.h"
#include "tests/op_check.h"
#include "trainer/optimizer.h"

#include "tests/optional_deps.h"

namespace qf {
namespace {

// conv-bn-relu, depthwise conv-bn-relu, pointwise conv-bn-relu, pooling, linear.
Graph small_net() {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 1, 12, 12});
  x = b.relu("s.2", b.batch_norm("s.1", b.conv2d("s.0", x, 1, 8, 3, 2, 1), 8));
  x = b.relu("d.2", b.batch_norm("d.1", b.conv2d("d.0", x, 8, 8, 3, 1, 1, 8), 8));
  x = b.relu("p.2", b.batch_norm("p.1", b.conv2d("p.0", x, 8, 16, 1), 16));
  x = b.flatten("flat", b.global_avg_pool("pool", x));
  g.mark_output(b.linear("fc", x, 16, 5, true, Init::normal(0, 0.3)));
  add_classification_loss(g, g.outputs()[0], 0.0);
  return g;
}

Tensor images(int64_t n, uint64_t seed) {
  // Values on the (p - 127.5) / 127.5 grid of 8-bit pixels, like the datasets.
  Tensor t = test::random_tensor({n, 1, 12, 12}, seed, 0, 255, DType::f32);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = (std::floor(t.data<float>()[i]) - 127.5f) / 127.5f;
  return t;
}

// Trains the QAT graph a few steps (scales and BN statistics become meaningful) and returns state.
TensorMap trained_state(const Graph& g) {
  CpuContext ctx(2);
  ParamStore store(g, ctx, 3);
  Executor ex(g, store, ctx);
  ex.prepare(16);
  Tensor labels = Tensor::empty({16}, DType::i32);
  for (int i = 0; i < 16; ++i) labels.data<int32_t>()[i] = i % 5;
  OptimizerConfig oc;
  oc.lr = 0.02;
  SgdMomentum opt(store, oc);
  for (int s = 0; s < 12; ++s) {
    ex.set_input("image", images(16, 100 + s));
    ex.set_input("label", labels);
    ex.forward(Mode::train, StepInfo{s, 1});
    ex.backward();
    opt.step(0.02);
  }
  return store.state_dict();
}

Tensor logits(const Graph& g, const TensorMap* state, const Tensor& x) {
  CpuContext ctx(2);
  ParamStore store(g, ctx, 0);
  if (state) store.load_state_dict(*state);
  ExecOptions o;
  o.training = false;
  o.outputs = {g.value(g.outputs()[0]).name};
  Executor ex(g, store, ctx, o);
  ex.prepare(x.dim(0));
  ex.set_input("image", x);
  ex.forward(Mode::eval);
  return ex.tensor(g.outputs()[0]).clone();
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (int64_t i = 0; i < t.numel(); ++i) m = std::max(m, std::fabs((double)t.data<float>()[i]));
  return m;
}

double max_diff(const Tensor& a, const Tensor& b) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::fabs((double)a.data<float>()[i] - b.data<float>()[i]));
  return m;
}

int argmax_agreement(const Tensor& a, const Tensor& b) {
  int agree = 0;
  const int64_t n = a.dim(0), c = a.dim(1);
  for (int64_t i = 0; i < n; ++i) {
    const float* pa = a.data<float>() + i * c;
    const float* pb = b.data<float>() + i * c;
    agree += std::max_element(pa, pa + c) - pa == std::max_element(pb, pb + c) - pb;
  }
  return agree;
}

struct Fixture {
  Graph qat = small_net();
  TensorMap state;
  explicit Fixture(bool fuse_conv_bn = false) {
    QuantConfig c;
    c.fuse_conv_bn = fuse_conv_bn;
    quant_aware(qat, c);
    // BatchNorm on running statistics while the scales are learned, so that the ranges training
    // recorded are those evaluation sees (a dozen steps would not bring running statistics near
    // the batch ones).
    freeze_batch_norm(qat);
    state = trained_state(qat);
  }
};

const Node* producer(const Graph& g, int v) {
  for (const Node& n : g.nodes())
    if (n.outputs[0] == v) return &n;
  return nullptr;
}

TEST(Convert, BothFormsComputeWhatTrainingSimulated) {
  Fixture f;
  const Tensor x = images(32, 7);
  const Tensor sim = logits(f.qat, &f.state, x);
  ConvertReport rep;
  const Graph grid = convert(f.qat, f.state, ConvertForm::float_grid);
  const Graph int8 = convert(f.qat, f.state, ConvertForm::int8, &rep);
  const Tensor lg = logits(grid, nullptr, x), l8 = logits(int8, nullptr, x);
  const double scale = max_abs(sim);
  ASSERT_GT(scale, 0.1);
  EXPECT_LE(max_diff(lg, sim), 1e-4 * scale);  // same graph; only Q rounding conventions differ
  // + BN folding in float and int32 bias rounding, which can move a value across a rounding step
  // (measured: 3.2e-3; 3e-2 before the observer simulated its requantization).
  EXPECT_LE(max_diff(l8, sim), 5e-3 * scale);
  EXPECT_EQ(argmax_agreement(l8, sim), 32);
  EXPECT_EQ(rep.weights, 4);
  EXPECT_EQ(rep.folded_bn, 3);
  EXPECT_EQ(rep.output_pairs, 3);  // s and d from the next input's scale, p from its observer
  EXPECT_EQ(rep.activation_pairs, 4);
  EXPECT_EQ(rep.float_outputs, 0);
}

// align_folded_bias moves each folded BatchNorm's beta by what the int32 bias rounding adds (at
// most half an accumulator step, never nothing on every channel), after which the int8 form finds
// every folded bias on its grid, and the simulated model computes what the int8 model does, up to
// float rounding.
TEST(Convert, AlignFoldedBiasPutsTheSimulationOnTheInt8Grid) {
  Fixture f;
  ConvertReport before;
  convert(f.qat, f.state, ConvertForm::int8, &before);
  ASSERT_EQ(before.bias_rounding.size(), 3u);  // s.1, d.1, p.1
  double largest = 0;
  for (const auto& [name, shift] : before.bias_rounding) {
    ASSERT_TRUE(f.state.count(name)) << name;
    for (float v : shift) largest = std::max(largest, static_cast<double>(std::fabs(v)));
  }
  ASSERT_GT(largest, 0.0);  // the rounding is real on these weights

  TensorMap aligned = f.state;
  double max_shift = -1;
  EXPECT_EQ(align_folded_bias(f.qat, aligned, &max_shift), 3);
  EXPECT_DOUBLE_EQ(max_shift, largest);
  for (const auto& [name, shift] : before.bias_rounding) {
    const Tensor &b0 = f.state.at(name), &b1 = aligned.at(name);
    for (size_t ch = 0; ch < shift.size(); ++ch)
      EXPECT_FLOAT_EQ(b1.data<float>()[ch], b0.data<float>()[ch] + shift[ch]) << name << ch;
  }
  // Nothing else moved.
  for (const auto& [name, t] : f.state)
    if (!before.bias_rounding.count(name)) EXPECT_EQ(max_diff(aligned.at(name), t), 0.0) << name;

  // Converted again, each folded bias is on the grid: what rounding adds is float noise.
  ConvertReport after;
  convert(f.qat, aligned, ConvertForm::int8, &after);
  for (const auto& [name, shift] : after.bias_rounding)
    for (float v : shift) EXPECT_LE(std::fabs(v), 1e-5 * largest + 1e-7) << name;

  // The simulation of the aligned model and its int8 export agree more closely than before.
  const Tensor x = images(32, 7);
  const Tensor sim0 = logits(f.qat, &f.state, x), sim1 = logits(f.qat, &aligned, x);
  const Tensor l80 = logits(convert(f.qat, f.state, ConvertForm::int8), nullptr, x);
  const Tensor l81 = logits(convert(f.qat, aligned, ConvertForm::int8), nullptr, x);
  EXPECT_LE(max_diff(l81, sim1), 1e-4 * max_abs(sim1));
  EXPECT_LE(max_diff(l81, sim1), max_diff(l80, sim0));
  EXPECT_EQ(argmax_agreement(l81, sim1), 32);
}

TEST(Convert, Int8GraphStructure) {
  Fixture f;
  const Graph g = convert(f.qat, f.state, ConvertForm::int8);
  int convs = 0;
  for (const Node& n : g.nodes()) {
    EXPECT_NE(n.op, "batch_norm") << n.name;
    EXPECT_FALSE(is_fake_quant_op(n.op)) << n.name;
    if (n.op != "conv2d" && n.op != "linear") continue;
    // Input, weight and bias all come from DequantizeLinear.
    for (size_t i = 0; i < 3; ++i) {
      const Node* p = producer(g, n.inputs[i]);
      ASSERT_NE(p, nullptr) << n.name << " input " << i;
      EXPECT_EQ(p->op, "dequantize_linear") << n.name << " input " << i;
      const Value& q = g.value(p->inputs[0]);
      if (i == 1) {
        EXPECT_EQ(q.kind, ValueKind::constant);
        EXPECT_EQ(q.dtype, DType::i8);
        EXPECT_EQ(g.value(p->inputs[1]).shape, (Shape{q.shape[0]}));  // per output channel
        EXPECT_EQ(p->attrs.get_int("axis"), 0);
      }
      if (i == 2) EXPECT_EQ(q.dtype, DType::i32) << n.name;
    }
    if (n.op == "conv2d") {
      ++convs;
      int consumers = 0;
      for (const Node& m : g.nodes())
        for (int v : m.inputs)
          if (v == n.outputs[0]) {
            ++consumers;
            EXPECT_EQ(m.op, "quantize_linear") << n.name << " output";
          }
      EXPECT_EQ(consumers, 1);
    }
  }
  EXPECT_EQ(convs, 3);
  // The trained integers survive: |q| <= 127 and each channel reaches 127 somewhere.
  const Value& w = g.value(g.value_id("d.0.weight.int8"));
  Tensor t = Tensor::empty(w.shape, DType::i8);
  initialize(t, w.init, w.name, 0);
  for (int64_t c = 0; c < w.shape[0]; ++c) {
    int m = 0;
    for (int64_t i = 0; i < 9; ++i) m = std::max(m, std::abs((int)t.data<int8_t>()[c * 9 + i]));
    EXPECT_EQ(m, 127) << "channel " << c;
  }
}

TEST(Convert, ExportPassesTheCheckerAndShrinksFourfold) {
  ModelConfig mc;
  mc.scale = 0.5;
  Graph fp32 = build_model(mc);
  add_classification_loss(fp32, fp32.outputs()[0], 0.0);
  Graph qat = fp32;
  quant_aware(qat, QuantConfig{});
  CpuContext ctx(1);
  ParamStore fs(fp32, ctx, 1), qs(qat, ctx, 1);
  test::TempDir dir;
  export_onnx(inference_graph(fp32, fs.state_dict()), dir.file("fp32.onnx"));
  export_onnx(convert(qat, qs.state_dict(), ConvertForm::int8), dir.file("int8.onnx"));
  export_onnx(convert(qat, qs.state_dict(), ConvertForm::float_grid), dir.file("grid.onnx"));
  const double a = std::filesystem::file_size(dir.file("fp32.onnx"));
  const double b = std::filesystem::file_size(dir.file("int8.onnx"));
  const double c = std::filesystem::file_size(dir.file("grid.onnx"));
  EXPECT_LT(b / a, 0.30) << a << " -> " << b;
  EXPECT_LT(c / a, 0.35) << a << " -> " << c;  // int8 weights too, BatchNorm and biases in float
  onnx::ModelProto m;
  read_onnx_model(dir.file("int8.onnx"), m);
  EXPECT_EQ(check_onnx_model(m), "");
  EXPECT_EQ(m.opset_import(0).version(), 13);
  int int8_inits = 0, convs = 0, qls = 0, leaky = 0;
  for (const auto& t : m.graph().initializer())
    int8_inits += t.data_type() == onnx::TensorProto::INT8 && t.dims_size() > 1;
  for (const auto& n : m.graph().node()) {
    convs += n.op_type() == "Conv";
    qls += n.op_type() == "QuantizeLinear";
    leaky += n.op_type() == "LeakyRelu";  // relu inside Q/DQ: ONNX Runtime's int8 kernel
    EXPECT_NE(n.op_type(), "BatchNormalization");
  }
  EXPECT_EQ(leaky, 26);  // the last relu feeds float average pooling and stays a Relu
  EXPECT_EQ(int8_inits, 28);
  EXPECT_EQ(convs, 27);
  EXPECT_EQ(qls, 28 + 27);  // 28 activation inputs + 27 conv outputs
  EXPECT_EQ(m.graph().input_size(), 1);
  EXPECT_EQ(m.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "N");
  EXPECT_THROW(build_onnx_model(qat, m), InputError);  // not converted
}

TEST(ConvBnFold, FusedTrainingFoldsExactlyAtConversion) {
  Fixture f(true);  // BN frozen during the steps: bn_unscale + batch_norm == the folded bias
  int folds = 0, unscales = 0;
  for (const Node& n : f.qat.nodes()) {
    folds += n.op == "bn_fold_weight";
    unscales += n.op == "bn_unscale";
  }
  EXPECT_EQ(folds, 3);
  EXPECT_EQ(unscales, 3);
  const Node* bn = f.qat.find_node("d.1");
  EXPECT_EQ(f.qat.value(bn->inputs[0]).name, "d.0.bn_unscale");
  EXPECT_EQ(
      f.qat.value(producer(f.qat, f.qat.find_node("d.0.weight_quant")->inputs[0])->outputs[0]).name,
      "d.0.bn_fold");
  const Tensor x = images(32, 8);
  const Tensor sim = logits(f.qat, &f.state, x);
  ConvertReport rep;
  const Tensor grid = logits(convert(f.qat, f.state, ConvertForm::float_grid), nullptr, x);
  const Tensor int8 = logits(convert(f.qat, f.state, ConvertForm::int8, &rep), nullptr, x);
  EXPECT_EQ(rep.folded_bn, 3);
  const double scale = max_abs(sim);
  EXPECT_LE(max_diff(grid, sim), 1e-4 * scale);
  EXPECT_LE(max_diff(int8, sim), 0.03 * scale);
  EXPECT_GE(argmax_agreement(int8, sim), 30);
}

// Writes `x` (values on the 8-bit pixel grid) as an idx image file plus labels.
void write_idx(const std::string& dir, const Tensor& x) {
  const int64_t n = x.dim(0);
  std::ofstream im(dir + "/t10k-images-idx3-ubyte", std::ios::binary);
  const unsigned char hdr[16] = {0, 0, 8, 3, 0, 0, 0, (unsigned char)n, 0, 0, 0, 12, 0, 0, 0, 12};
  im.write((const char*)hdr, 16);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const unsigned char p = (unsigned char)std::lround(x.data<float>()[i] * 127.5f + 127.5f);
    im.put((char)p);
  }
  std::ofstream lb(dir + "/t10k-labels-idx1-ubyte", std::ios::binary);
  const unsigned char lh[8] = {0, 0, 8, 1, 0, 0, 0, (unsigned char)n};
  lb.write((const char*)lh, 8);
  for (int64_t i = 0; i < n; ++i) lb.put(0);
}

TEST(Convert, OnnxRuntimeAgreesWithQforgeOnTheInt8Model) {
  const std::string root = QF_SOURCE_DIR;
  const std::string script = root + "/tools/ort/run_onnx.js";
  QF_SKIP_UNLESS(std::system("node --version > /dev/null 2>&1") == 0 &&
                     std::filesystem::exists(root + "/tools/ort/node_modules/onnxruntime-node"),
                 "node or onnxruntime-node missing (install: cd tools/ort && npm install "
                 "--ignore-scripts)");
  Fixture f;
  test::TempDir dir;
  const Graph g = convert(f.qat, f.state, ConvertForm::int8);
  export_onnx(g, dir.file("int8.onnx"));
  const Tensor x = images(40, 21);
  write_idx(dir.file(""), x);
  const std::string out = dir.file("ort.json");
  const std::string cmd = "node " + script + " --model " + dir.file("int8.onnx") + " --data " +
                          dir.file("") + " --batch 40 --logits 40 --threads 1 > " + out;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(out);
  const nlohmann::json j = nlohmann::json::parse(in);
  const Tensor ours = logits(g, nullptr, x);
  Tensor ort = Tensor::empty(ours.shape(), DType::f32);
  for (int64_t i = 0; i < 40; ++i)
    for (int64_t c = 0; c < 5; ++c) ort.data<float>()[i * 5 + c] = j["logits"][i][c].get<float>();
  EXPECT_LE(max_diff(ort, ours), 0.02 * max_abs(ours));
  EXPECT_GE(argmax_agreement(ort, ours), 38);
}

}  // namespace
}  // namespace qf
