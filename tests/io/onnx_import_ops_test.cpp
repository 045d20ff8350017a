// ONNX import of the ops torchvision's classifiers need beyond the basics (io/onnx_import.h):
// ShuffleNet's channel shuffle (Reshape -> Transpose -> Reshape) and channel split (Slice), MNASNet's
// ReduceMean over H and W, Inception's Pad before an AveragePool; all checked against a plain loop
// over the logical tensor. And names: torch.onnx's module paths become parameter names.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>

#include "io/onnx_file.h"
#include "io/onnx_import.h"
#include "nn/executor.h"
#include "nn/param_store.h"
#include "tests/io/temp_dir.h"
#include "tests/nn/nhwc.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

// A small ONNX graph under construction: one float input "x" of shape (N, C, H, W).
struct OnnxBuilder {
  onnx::ModelProto m;
  onnx::GraphProto* g;
  explicit OnnxBuilder(const Shape& in) : g(m.mutable_graph()) {
    m.set_ir_version(7);
    m.add_opset_import()->set_version(13);
    g->set_name("test");
    auto* t = g->add_input()->mutable_type()->mutable_tensor_type();
    g->mutable_input(0)->set_name("x");
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : in) t->mutable_shape()->add_dim()->set_dim_value(d);
  }
  onnx::NodeProto& node(const std::string& op, const std::string& name, std::vector<std::string> in,
                        const std::string& out) {
    onnx::NodeProto& n = *g->add_node();
    n.set_op_type(op);
    n.set_name(name);
    for (auto& i : in) n.add_input(i);
    n.add_output(out);
    return n;
  }
  std::string ints(const std::string& name, std::vector<int64_t> v) {
    Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i64);
    std::copy(v.begin(), v.end(), t.data<int64_t>());
    tensor_to_onnx(t, name, *g->add_initializer());
    return name;
  }
  static void attr_ints(onnx::NodeProto& n, const std::string& name, std::vector<int64_t> v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void attr_int(onnx::NodeProto& n, const std::string& name, int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  void output(const std::string& name) { g->add_output()->set_name(name); }
};

// The graph's output 0 for a logical (N, C, H, W) input, as a logical row-major host tensor.
std::vector<float> run(const Graph& g, const Tensor& logical_x) {
  CpuContext ctx(1);
  ParamStore store(g, ctx, 0);
  ExecOptions eo;
  eo.training = false;
  Executor ex(g, store, ctx, eo);
  ex.prepare(logical_x.dim(0));
  ex.set_input("image", nhwc_from_nchw(logical_x));
  ex.forward(Mode::eval);
  const Tensor& y = ex.tensor(g.outputs()[0]);
  return {y.data<float>(), y.data<float>() + y.numel()};
}

Tensor iota(const Shape& s) {
  std::vector<float> v(numel(s));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.25f - 3.f;
  return Tensor::from(s, v);
}

TEST(OnnxImportOps, ShuffleNetChannelShuffleAndSplit) {
  // x (1, 4, 2, 3) -> Reshape (1, 2, 2, 2, 3) -> Transpose (0, 2, 1, 3, 4) -> Reshape (1, 4, 2, 3)
  // -> Slice channels [2, 4) -> Flatten: ShuffleNet V2's channel_shuffle and chunk.
  OnnxBuilder b({1, 4, 2, 3});
  b.node("Reshape", "/stage2/stage2.0/Reshape", {"x", b.ints("s5", {1, 2, 2, 2, 3})}, "r5");
  b.attr_ints(b.node("Transpose", "/stage2/stage2.0/Transpose", {"r5"}, "t"), "perm", {0, 2, 1, 3, 4});
  b.node("Reshape", "/stage2/stage2.0/Reshape_1", {"t", b.ints("s4", {1, 4, 2, 3})}, "r4");
  b.node("Slice", "/stage2/stage2.1/Slice",
         {"r4", b.ints("b", {2}), b.ints("e", {INT64_MAX}), b.ints("a", {1}), b.ints("st", {1})}, "sl");
  b.node("Flatten", "/Flatten", {"sl"}, "y");
  b.output("y");
  const Graph g = import_onnx_model(b.m, "shuffle");
  const Tensor x = iota({1, 4, 2, 3});
  const std::vector<float> y = run(g, x);
  // Shuffled channel c' = (c % 2) * 2 + c / 2 reads input channel c ... output channel j holds input
  // channel (j % 2) * 2 + j / 2; the slice keeps output channels 2 and 3.
  ASSERT_EQ(y.size(), 12u);
  for (int j = 2; j < 4; ++j)
    for (int p = 0; p < 6; ++p)
      EXPECT_EQ(y[(j - 2) * 6 + p], x.data<float>()[((j % 2) * 2 + j / 2) * 6 + p]) << j << " " << p;
}

TEST(OnnxImportOps, ReduceMeanAndPadBeforeAveragePool) {
  // x (2, 3, 4, 4) -> Pad 1 on every side of H and W -> AveragePool 3x3 stride 1 (the padding zeros
  // count, as torch's count_include_pad=True) -> ReduceMean over H, W without keepdims -> (2, 3).
  OnnxBuilder b({2, 3, 4, 4});
  b.node("Pad", "/Mixed_5b/Pad", {"x", b.ints("pads", {0, 0, 1, 1, 0, 0, 1, 1})}, "p");
  auto& pool = b.node("AveragePool", "/Mixed_5b/AveragePool", {"p"}, "a");
  b.attr_ints(pool, "kernel_shape", {3, 3});
  b.attr_ints(pool, "strides", {1, 1});
  auto& mean = b.node("ReduceMean", "/ReduceMean", {"a"}, "y");
  b.attr_ints(mean, "axes", {2, 3});
  b.attr_int(mean, "keepdims", 0);
  b.output("y");
  const Graph g = import_onnx_model(b.m, "pad_mean");
  const Tensor x = iota({2, 3, 4, 4});
  const std::vector<float> y = run(g, x);
  ASSERT_EQ(y.size(), 6u);
  for (int nc = 0; nc < 6; ++nc) {
    double sum = 0;  // mean over the 4x4 outputs of 3x3 windows over the zero-padded 6x6 plane
    for (int oh = 0; oh < 4; ++oh)
      for (int ow = 0; ow < 4; ++ow)
        for (int i = -1; i <= 1; ++i)
          for (int j = -1; j <= 1; ++j) {
            const int h = oh + i, w = ow + j;
            if (h >= 0 && h < 4 && w >= 0 && w < 4) sum += x.data<float>()[nc * 16 + h * 4 + w] / 9.0;
          }
    EXPECT_NEAR(y[nc], sum / 16, 1e-5) << nc;
  }
}

TEST(OnnxImportOps, PadOnlyBeforeConvOrAveragePool) {
  OnnxBuilder b({1, 2, 4, 4});
  b.node("Pad", "/Pad", {"x", b.ints("pads", {0, 0, 1, 1, 0, 0, 1, 1})}, "p");
  b.node("Relu", "/Relu", {"p"}, "y");
  b.output("y");
  expect_input_error([&] { import_onnx_model(b.m, "pad_relu"); }, "pad_relu",
                     "a Pad is supported only before a Conv or an AveragePool");
  OnnxBuilder c({1, 2, 4, 4});
  c.node("Pad", "/Pad", {"x", c.ints("pads", {0, 1, 0, 0, 0, 0, 0, 0})}, "p");
  c.node("Relu", "/Relu", {"p"}, "y");
  c.output("y");
  expect_input_error([&] { import_onnx_model(c.m, "pad_channels"); }, "pad_channels",
                     "only padding H and W");
}

TEST(OnnxImportOps, TorchModulePathsBecomeParameterNames) {
  // torch.onnx names nodes by module path, each nested container repeating its parent's name; the
  // initializer of a folded Conv is anonymous ("onnx::Conv_7").
  OnnxBuilder b({1, 2, 3, 3});
  Tensor w = Tensor::empty({2, 2, 1, 1}, DType::f32);
  w.fill(0.5f);
  tensor_to_onnx(w, "onnx::Conv_7", *b.g->add_initializer());
  b.node("Conv", "/features/features.1/conv/conv.0/conv.0.0/Conv", {"x", "onnx::Conv_7"}, "c");
  b.node("Flatten", "/Flatten", {"c"}, "y");
  b.output("y");
  OnnxImportInfo info;
  const Graph g = import_onnx_model(b.m, "names", {}, &info);
  EXPECT_GE(g.find_value("features.1.conv.0.0.weight"), 0);
  EXPECT_NE(g.find_node("features.1.conv.0.0"), nullptr);
  EXPECT_EQ(info.input_onnx_name, "x");
}

}  // namespace
}  // namespace qf::test
