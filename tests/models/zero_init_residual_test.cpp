// model.zero_init_residual: the last BatchNorm weight of every ResNet block (bn2 in basic blocks,
// bn3 in bottlenecks) starts at 0 and nothing else changes; models without residual BatchNorm
// reject the option with a one-line InputError.
#include <gtest/gtest.h>

#include "models/registry.h"
#include "nn/context.h"
#include "nn/error.h"
#include "nn/param_store.h"

namespace qf {
namespace {

// Every parameter of a freshly initialised model, by name.
std::map<std::string, std::vector<float>> initial_params(const ModelConfig& c) {
  const Graph g = build_model(c);
  CpuContext ctx{1, false};
  ParamStore store(g, ctx, 7);
  std::map<std::string, std::vector<float>> r;
  for (const ParamEntry* e : store.entries()) {
    if (e->data.dtype() != DType::f32) continue;
    const float* p = e->data.data<float>();
    r[e->name].assign(p, p + e->data.numel());
  }
  return r;
}

bool is_last_block_bn_weight(const std::string& name, bool bottleneck) {
  const std::string tail = bottleneck ? ".bn3.weight" : ".bn2.weight";
  return name.rfind("layer", 0) == 0 && name.size() > tail.size() &&
         name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
}

void expect_only_last_bn_zeroed(const std::string& model, bool bottleneck) {
  ModelConfig plain;
  plain.name = model;
  ModelConfig zeroed = plain;
  zeroed.zero_init_residual = true;
  const auto a = initial_params(plain), b = initial_params(zeroed);
  ASSERT_EQ(a.size(), b.size());
  int zeroed_count = 0;
  for (const auto& [name, values] : a) {
    const std::vector<float>& z = b.at(name);
    if (is_last_block_bn_weight(name, bottleneck)) {
      ++zeroed_count;
      for (float v : values) EXPECT_EQ(v, 1.f) << name;
      for (float v : z) EXPECT_EQ(v, 0.f) << name;
    } else {
      EXPECT_EQ(values, z) << name;  // same seed, same draws: only the zeroed weights differ
    }
  }
  EXPECT_EQ(zeroed_count, bottleneck ? 16 : 8) << model;  // blocks: 3+4+6+3 or 2+2+2+2
}

TEST(ZeroInitResidual, ResNet18ZeroesEveryBasicBlocksBn2Only) {
  expect_only_last_bn_zeroed("resnet18", false);
}

TEST(ZeroInitResidual, ResNet50ZeroesEveryBottlenecksBn3Only) {
  expect_only_last_bn_zeroed("resnet50", true);
}

TEST(ZeroInitResidual, ModelsWithoutResidualBatchNormRejectIt) {
  ModelConfig c;
  c.name = "mobilenet_v1";
  c.zero_init_residual = true;
  try {
    build_model(c);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model.zero_init_residual: mobilenet_v1 has no residual"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace qf
