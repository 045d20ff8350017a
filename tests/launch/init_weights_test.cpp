// `--init` (load_initial_weights): safetensors by name, FP32 ONNX initializers by name and then by
// order and shape, and one-line InputErrors naming the file, the tensor, its expected and its found
// shape for anything missing or mismatched.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "io/onnx_file.h"
#include "launch/lib/setup.h"
#include "models/registry.h"
#include "tests/io/temp_dir.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

struct Net {
  Graph g;
  CpuContext ctx{1, false};
  std::unique_ptr<ParamStore> store;
  Net() {
    ModelConfig c;
    c.name = "lenet";
    g = build_model(c);
    store = std::make_unique<ParamStore>(g, ctx, 1);
  }
};

// Distinct random values for every tensor of a fresh LeNet, by name.
TensorMap random_weights(const ParamStore& store) {
  TensorMap m;
  uint64_t seed = 100;
  for (const ParamEntry* e : store.entries())
    m[e->name] = to_dtype(random_tensor(e->shape, seed++), DType::f32);
  return m;
}

void expect_loaded(const ParamStore& store, const TensorMap& want) {
  for (const auto& [name, t] : want) {
    const ParamEntry* e = store.find(name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(max_rel_diff(e->data, t), 0.0) << name;
  }
}

// An ONNX file whose graph holds only initializers, in the given order and names.
void write_onnx(const std::string& path,
                const std::vector<std::pair<std::string, Tensor>>& initializers) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("weights");
  for (const auto& [name, t] : initializers) tensor_to_onnx(t, name, *g->add_initializer());
  write_onnx_model(path, m);
}

Console quiet() {
  return Console(false, false);
}

TEST(InitWeights, SafetensorsByNameIgnoringNumBatchesTracked) {
  Net net;
  TempDir dir;
  TensorMap w = random_weights(*net.store);
  TensorMap file = w;
  file["features.0.num_batches_tracked"] = Tensor::zeros({}, DType::i64);
  save_safetensors(dir.file("w.safetensors"), file);
  Console c = quiet();
  load_initial_weights(*net.store, dir.file("w.safetensors"), c, false);
  expect_loaded(*net.store, w);
}

TEST(InitWeights, SafetensorsMissingAndMismatchedTensorsAreNamed) {
  Net net;
  TempDir dir;
  TensorMap w = random_weights(*net.store);
  w.erase("fc.1.bias");
  const std::string missing = dir.file("missing.safetensors");
  save_safetensors(missing, w);
  Console c = quiet();
  expect_input_error([&] { load_initial_weights(*net.store, missing, c, false); }, missing,
                     "fc.1.bias [84]");
  w = random_weights(*net.store);
  w["fc.0.weight"] = Tensor::zeros({120, 399});
  const std::string wrong = dir.file("wrong.safetensors");
  save_safetensors(wrong, w);
  expect_input_error([&] { load_initial_weights(*net.store, wrong, c, false); }, wrong,
                     "tensor 'fc.0.weight': expected shape [120, 400], found [120, 399]");
}

TEST(InitWeights, OnnxByNameThenByOrderAndShape) {
  Net net;
  TempDir dir;
  const TensorMap w = random_weights(*net.store);
  std::vector<std::pair<std::string, Tensor>> inits;
  int anon = 0;
  for (const ParamEntry* e : net.store->entries()) {
    // The convs keep their names; the linears get PyTorch-style anonymous ones, with a shape
    // constant and a scalar constant in between (neither may be taken by order).
    const bool named = e->name.rfind("features", 0) == 0;
    inits.emplace_back(named ? e->name : "onnx::Gemm_" + std::to_string(anon++), w.at(e->name));
    if (e->name == "fc.0.bias") {
      Tensor shape = Tensor::empty({2}, DType::i64);
      shape.data<int64_t>()[0] = 1;
      shape.data<int64_t>()[1] = -1;
      inits.emplace_back("onnx::Reshape_7", shape);
      inits.emplace_back("onnx::Mul_8", Tensor::zeros({}, DType::f32));
    }
  }
  write_onnx(dir.file("model.onnx"), inits);
  Console c = quiet();
  load_initial_weights(*net.store, dir.file("model.onnx"), c, false);
  expect_loaded(*net.store, w);
}

TEST(InitWeights, OnnxOrderMismatchNamesBothTensors) {
  Net net;
  TempDir dir;
  const TensorMap w = random_weights(*net.store);
  std::vector<std::pair<std::string, Tensor>> inits;
  int anon = 0;
  for (const ParamEntry* e : net.store->entries())  // every name anonymous, fc.0 bias dropped
    if (e->name != "fc.0.bias") inits.emplace_back("t" + std::to_string(anon++), w.at(e->name));
  const std::string path = dir.file("short.onnx");
  write_onnx(path, inits);
  Console c = quiet();
  expect_input_error([&] { load_initial_weights(*net.store, path, c, false); }, path,
                     "no initializer named 'fc.0.bias' (expected shape [120]), and by order the "
                     "next unmatched tensor in the order the graph uses them, 't5', is [84, 120]");
}

// torch.onnx keeps one copy of identical tensors and writes the others as Identity nodes of it
// (MobileNetV3's zero squeeze-excitation biases): the aliases are matched where the graph uses
// them, and tensors are taken in the order the graph's nodes use them, not in file order.
TEST(InitWeights, OnnxFollowsIdentityNodesInTheOrderOfUse) {
  Net net;
  TempDir dir;
  TensorMap w = random_weights(*net.store);
  w["fc.1.bias"] = Tensor::zeros({84});
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("weights");
  onnx::NodeProto* identity = g->add_node();
  identity->set_op_type("Identity");
  identity->add_input("shared_zeros");
  identity->add_output("alias");
  onnx::NodeProto* user = g->add_node();  // reads every tensor in the model's order
  user->set_op_type("Concat");
  int anon = 0;
  for (const ParamEntry* e : net.store->entries()) {
    if (e->name == "fc.1.bias") {
      user->add_input("alias");
      continue;
    }
    const std::string name = "t" + std::to_string(anon++);
    tensor_to_onnx(w.at(e->name), name, *g->add_initializer());
    user->add_input(name);
  }
  tensor_to_onnx(Tensor::zeros({84}), "shared_zeros", *g->add_initializer());  // last in the file
  write_onnx_model(dir.file("dedup.onnx"), m);
  Console c = quiet();
  load_initial_weights(*net.store, dir.file("dedup.onnx"), c, false);
  expect_loaded(*net.store, w);
}

TEST(InitWeights, OnnxWithoutBatchNormForAModelWithBatchNormSaysSo) {
  ModelConfig mc;
  mc.name = "mobilenet_v1";
  mc.scale = 0.25;
  Graph g = build_model(mc);
  CpuContext ctx(1, false);
  ParamStore store(g, ctx, 1);
  TempDir dir;
  std::vector<std::pair<std::string, Tensor>> inits;  // conv weights and folded biases only
  int anon = 0;
  for (const ParamEntry* e : store.entries())
    if (e->shape.size() == 4) {
      inits.emplace_back("w" + std::to_string(anon), Tensor::zeros(e->shape));
      inits.emplace_back("b" + std::to_string(anon++), Tensor::zeros({e->shape[0]}));
    }
  const std::string path = dir.file("folded.onnx");
  write_onnx(path, inits);
  Console c = quiet();
  expect_input_error([&] { load_initial_weights(store, path, c, false); }, path,
                     "its BatchNorms were folded into the convolutions");
}

TEST(InitWeights, OnnxByNameShapeMismatchIsNamed) {
  Net net;
  TempDir dir;
  std::vector<std::pair<std::string, Tensor>> inits;
  for (const auto& [name, t] : random_weights(*net.store))
    inits.emplace_back(name, name == "features.3.weight" ? Tensor::zeros({16, 6, 3, 3}) : t);
  const std::string path = dir.file("wrong.onnx");
  write_onnx(path, inits);
  Console c = quiet();
  expect_input_error([&] { load_initial_weights(*net.store, path, c, false); }, path,
                     "tensor 'features.3.weight': expected shape [16, 6, 5, 5], found "
                     "[16, 6, 3, 3]");
}

}  // namespace
}  // namespace qf::test
