// MobileNetV1's initialisation: every conv (stem, depthwise, pointwise) draws from Paddle's MSRA
// (uniform on +-sqrt(6 / fan_in), fan_in = in_channels / groups * k * k), the classifier from
// N(0, 0.01), BatchNorm starts at ones/zeros. Checked on the draws themselves: the bound holds
// and the sample variance is the distribution's (bound^2 / 3 for the uniform) within 5%.
#include <gtest/gtest.h>

#include <cmath>

#include "models/registry.h"
#include "nn/context.h"
#include "nn/param_store.h"

namespace qf {
namespace {

struct Moments {
  double mean = 0, var = 0, max_abs = 0;
};

Moments moments(const Tensor& t) {
  const float* p = t.data<float>();
  const int64_t n = t.numel();
  Moments m;
  for (int64_t i = 0; i < n; ++i) m.mean += p[i];
  m.mean /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) {
    m.var += (p[i] - m.mean) * (p[i] - m.mean);
    m.max_abs = std::max(m.max_abs, std::fabs(static_cast<double>(p[i])));
  }
  m.var /= static_cast<double>(n);
  return m;
}

void expect_msra_convs(bool small_form) {
  ModelConfig c;
  c.name = "mobilenet_v1";
  c.small_input = small_form;
  if (!small_form) {
    c.in_channels = 3;
    c.num_classes = 1000;
    c.image_size = 224;
  }
  const Graph g = build_model(c);
  CpuContext ctx{1, false};
  ParamStore store(g, ctx, 3);
  int convs = 0;
  for (const ParamEntry* e : store.entries()) {
    if (e->dtype != DType::f32) continue;
    const Moments m = moments(e->data);
    if (e->shape.size() == 4) {  // conv weight (cout, cin / groups, k, k)
      ++convs;
      const double fan_in = static_cast<double>(e->shape[1] * e->shape[2] * e->shape[3]);
      const double bound = std::sqrt(6.0 / fan_in);
      EXPECT_LE(m.max_abs, bound) << e->name;
      EXPECT_GT(m.max_abs, 0.5 * bound) << e->name;
      if (e->data.numel() >= 8192) {  // enough draws for a 5% variance check
        EXPECT_NEAR(m.var, bound * bound / 3, 0.05 * bound * bound / 3) << e->name;
        EXPECT_NEAR(m.mean, 0.0, 0.05 * bound) << e->name;
      }
    } else if (e->name == "fc.weight") {
      EXPECT_NEAR(std::sqrt(m.var), 0.01, 0.001) << e->name;
    } else if (e->name.ends_with(".1.weight")) {  // BatchNorm gamma
      EXPECT_EQ(m.max_abs, 1.0) << e->name;
      EXPECT_EQ(m.var, 0.0) << e->name;
    }
  }
  EXPECT_EQ(convs, 27);  // stem + 13 x (depthwise + pointwise)
}

TEST(MobileNetV1Init, SmallFormConvsDrawFromPaddleMsra) { expect_msra_convs(true); }
TEST(MobileNetV1Init, ImageNetFormConvsDrawFromPaddleMsra) { expect_msra_convs(false); }

}  // namespace
}  // namespace qf
