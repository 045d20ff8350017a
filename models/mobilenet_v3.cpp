// MobileNetV3 large and small (Howard et al., 2019) exactly as torchvision 0.14 defines them
// (torchvision/models/mobilenetv3.py), with its module names:
//
//   features.0        Conv2dNormActivation(in, 16, 3, stride 2, hardswish): .0 conv, .1 bn, .2 act
//   features.i        InvertedResidual, attribute `block`, numbered in order of presence:
//                       expand 1x1 (only when expanded != input channels)   block.k.{0,1,2}
//                       depthwise k x k, stride s                           block.k.{0,1,2}
//                       squeeze-excitation (when the table says so)         block.k.{fc1, fc2}
//                       project 1x1, no activation                          block.k.{0,1}
//                     plus the residual `features.i.add` when stride 1 and in == out
//   features.last     Conv2dNormActivation(c, 6c, 1, hardswish)
//   avgpool, flatten
//   classifier        .0 Linear(6c, last), .1 Hardswish, .2 Dropout(0.2), .3 Linear(last, classes)
//
// Squeeze-excitation (torchvision.ops.SqueezeExcitation with scale_activation Hardsigmoid):
//   s = hardsigmoid(fc2(relu(fc1(avgpool(x)))))  with fc1, fc2 1x1 convs with bias,
//   y = x * s     (s is (N, C, 1, 1), broadcast over H and W by `mul`)
// squeeze channels = make_divisible(expanded // 4, 8). Every channel count is
// make_divisible(c * scale, 8). BatchNorm eps 0.001, momentum 0.01 (torchvision's choice for V3).
// Hardswish(x) = x * relu6(x + 3) / 6 and Hardsigmoid(x) = relu6(x + 3) / 6, as PyTorch.
// Initialisers as torchvision: conv kaiming normal (fan_out) with zero bias, BN ones/zeros,
// Linear normal(0, 0.01) with zero bias.
//
// ImageNet form at scale 1.0: large 5.48M parameters / 217M multiply-adds, small 2.54M / 56M.
// Small form (28x28): the stem conv has stride 1, so the four stride-2 stages see 28, 14, 7, 4
// and the last features are 2x2 (the ImageNet form would end at 1x1 after the third).
#include "models/registry.h"

namespace qf {
namespace {

// One row of torchvision's _mobilenet_v3_conf tables (before the width multiplier).
struct Bneck {
  int64_t in, kernel, expanded, out;
  bool se;
  bool hardswish;  // "HS" (else "RE": relu)
  int64_t stride;
};

// clang-format off
const std::vector<Bneck> kLarge = {
    {16, 3, 16, 16, false, false, 1},   {16, 3, 64, 24, false, false, 2},
    {24, 3, 72, 24, false, false, 1},   {24, 5, 72, 40, true, false, 2},
    {40, 5, 120, 40, true, false, 1},   {40, 5, 120, 40, true, false, 1},
    {40, 3, 240, 80, false, true, 2},   {80, 3, 200, 80, false, true, 1},
    {80, 3, 184, 80, false, true, 1},   {80, 3, 184, 80, false, true, 1},
    {80, 3, 480, 112, true, true, 1},   {112, 3, 672, 112, true, true, 1},
    {112, 5, 672, 160, true, true, 2},  {160, 5, 960, 160, true, true, 1},
    {160, 5, 960, 160, true, true, 1}};
const std::vector<Bneck> kSmall = {
    {16, 3, 16, 16, true, false, 2},   {16, 3, 72, 24, false, false, 2},
    {24, 3, 88, 24, false, false, 1},  {24, 5, 96, 40, true, true, 2},
    {40, 5, 240, 40, true, true, 1},   {40, 5, 240, 40, true, true, 1},
    {40, 5, 120, 48, true, true, 1},   {48, 5, 144, 48, true, true, 1},
    {48, 5, 288, 96, true, true, 2},   {96, 5, 576, 96, true, true, 1},
    {96, 5, 576, 96, true, true, 1}};
// clang-format on

constexpr double kBnEps = 0.001, kBnMomentum = 0.01;

int squeeze_excitation(ModelBuilder& b, const std::string& p, int x, int64_t channels) {
  const int64_t squeeze = make_divisible(static_cast<double>(channels / 4), 8);
  int s = b.global_avg_pool(p + ".avgpool", x);
  s = b.conv2d(p + ".fc1", s, channels, squeeze, 1, 1, 0, 1, true);
  s = b.relu(p + ".activation", s);
  s = b.conv2d(p + ".fc2", s, squeeze, channels, 1, 1, 0, 1, true);
  s = b.hardsigmoid(p + ".scale_activation", s);
  return b.mul(p + ".mul", x, s);
}

int build(ModelBuilder& b, int x, const ModelConfig& c, const std::vector<Bneck>& table,
          int64_t last_channel) {
  if (!(c.scale > 0 && c.scale <= 4))
    throw_input_error("model.scale: ", c.scale, " is out of range for ", c.name, " (0, 4]");
  auto ch = [&](int64_t n) { return make_divisible(n * c.scale, 8); };
  x = b.conv_bn_act("features.0", x, c.in_channels, ch(table[0].in), 3, c.small_input ? 1 : 2, 1,
                    "hardswish", kBnEps, kBnMomentum);
  int index = 1;
  for (const Bneck& r : table) {
    const int64_t cin = ch(r.in), exp = ch(r.expanded), cout = ch(r.out);
    const std::string act = r.hardswish ? "hardswish" : "relu";
    const std::string p = "features." + std::to_string(index) + ".block.";
    int h = x, k = 0;
    if (exp != cin)
      h = b.conv_bn_act(p + std::to_string(k++), h, cin, exp, 1, 1, 1, act, kBnEps, kBnMomentum);
    h = b.conv_bn_act(p + std::to_string(k++), h, exp, exp, r.kernel, r.stride, exp, act, kBnEps,
                      kBnMomentum);
    if (r.se) h = squeeze_excitation(b, p + std::to_string(k++), h, exp);
    h = b.conv_bn_act(p + std::to_string(k), h, exp, cout, 1, 1, 1, "", kBnEps, kBnMomentum);
    if (r.stride == 1 && cin == cout) h = b.add("features." + std::to_string(index) + ".add", x, h);
    x = h;
    ++index;
  }
  const int64_t cin = ch(table.back().out), lastconv = 6 * cin, last = ch(last_channel);
  x = b.conv_bn_act("features." + std::to_string(index), x, cin, lastconv, 1, 1, 1, "hardswish",
                    kBnEps, kBnMomentum);
  x = b.global_avg_pool("avgpool", x);
  x = b.flatten("flatten", x);
  x = b.linear("classifier.0", x, lastconv, last, true, Init::normal(0, 0.01));
  x = b.hardswish("classifier.1", x);
  x = b.dropout("classifier.2", x, 0.2);
  return b.linear("classifier.3", x, last, c.num_classes, true, Init::normal(0, 0.01));
}

}  // namespace

int build_mobilenet_v3_large(ModelBuilder& b, int x, const ModelConfig& c) {
  return build(b, x, c, kLarge, 1280);
}

int build_mobilenet_v3_small(ModelBuilder& b, int x, const ModelConfig& c) {
  return build(b, x, c, kSmall, 1024);
}

}  // namespace qf
