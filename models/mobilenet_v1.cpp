// MobileNetV1 (Howard et al., 2017) as PaddleSlim's and PaddleClas's MobileNetV1 define it:
// a 3x3 stride-2 stem, 13 depthwise-separable blocks, global average pooling and one linear layer;
// every conv is followed by BatchNorm and ReLU; channel counts are int(c * scale).
//
// Names follow torchvision's conventions (torchvision has no MobileNetV1):
//   features.0.{0 conv, 1 bn, 2 relu}                         stem
//   features.i.0.{0,1,2} depthwise conv/bn/relu, features.i.1.{0,1,2} pointwise   (i = 1..13)
//   fc                                                        classifier
//
// The small form (1x28x28, 10 classes) is the PaddleSlim tutorial's: the same strides, so the
// feature map goes 14, 14, 7, 7, 4, 4, 2, ... 1 before pooling. ImageNet form at scale 1.0:
// 4.23M parameters and 569M multiply-adds.
//
// Convolutions start from Paddle's MSRA initialiser (uniform, bound sqrt(6 / fan_in)), as
// PaddleSlim's and PaddleClas's MobileNetV1 do. It matters for the depthwise convs: torchvision's
// kaiming-normal over fan-out gives a 3x3 depthwise filter of 512 channels a std of 0.02, MSRA a
// bound of 0.82 (fan-in 9), and under BatchNorm and weight decay the tiny filters get a far larger
// effective learning rate — one epoch on Fashion-MNIST then swings 80–87% with the seed (MSRA:
// 86.0–87.1%). The classifier keeps N(0, 0.01), torchvision's choice for its MobileNets: MSRA
// there measured worse in one epoch (80.2–85.4% over three seeds).
#include "models/registry.h"

namespace qf {

int build_mobilenet_v1(ModelBuilder& b, int x, const ModelConfig& c) {
  if (!(c.scale > 0 && c.scale <= 4))
    throw_input_error("model.scale: ", c.scale, " is out of range for mobilenet_v1 (0, 4]");
  auto ch = [&](int64_t n) { return std::max<int64_t>(1, static_cast<int64_t>(n * c.scale)); };
  // (output channels, stride of the depthwise conv) of blocks 1..13.
  static const int64_t blocks[13][2] = {{64, 1},  {128, 2},  {128, 1}, {256, 2}, {256, 1},
                                        {512, 2}, {512, 1},  {512, 1}, {512, 1}, {512, 1},
                                        {512, 1}, {1024, 2}, {1024, 1}};
  int64_t cin = ch(32);
  auto conv_bn_relu = [&](const std::string& path, int h, int64_t in, int64_t out, int64_t kernel,
                          int64_t stride, int64_t groups) {
    return b.conv_bn_act(path, h, in, out, kernel, stride, groups, "relu", 1e-5, 0.1,
                         Init::msra_uniform_fan_in());
  };
  x = conv_bn_relu("features.0", x, c.in_channels, cin, 3, 2, 1);
  for (int i = 0; i < 13; ++i) {
    const std::string p = "features." + std::to_string(i + 1);
    const int64_t cout = ch(blocks[i][0]);
    x = conv_bn_relu(p + ".0", x, cin, cin, 3, blocks[i][1], cin);
    x = conv_bn_relu(p + ".1", x, cin, cout, 1, 1, 1);
    cin = cout;
  }
  x = b.global_avg_pool("avgpool", x);
  x = b.flatten("flatten", x);
  return b.linear("fc", x, cin, c.num_classes, true, Init::normal(0, 0.01));
}

}  // namespace qf
