// MobileNetV2 (Sandler et al., 2018) exactly as torchvision 0.14 defines it
// (torchvision/models/mobilenetv2.py), with its module names:
//
//   features.0            Conv2dNormActivation(in, 32, 3, stride 2): .0 conv, .1 bn, .2 relu6
//   features.1 .. 17      InvertedResidual(t, c, s), attribute `conv`:
//                           t != 1: conv.0 expand 1x1 (.0/.1/.2), conv.1 depthwise 3x3 (.0/.1/.2),
//                                   conv.2 project 1x1 conv, conv.3 bn
//                           t == 1: conv.0 depthwise 3x3 (.0/.1/.2), conv.1 project, conv.2 bn
//                         plus the residual `features.i.add` when stride 1 and in == out
//   features.18           Conv2dNormActivation(320, 1280, 1): .0/.1/.2
//   avgpool, flatten      adaptive average pooling to 1x1 (functional in torchvision)
//   classifier.0          Dropout(0.2), classifier.1 Linear(1280, num_classes)
//
// Channels are make_divisible(c * scale, 8); the last conv keeps 1280 unless scale > 1.
// BatchNorm eps 1e-5, momentum 0.1 (PyTorch's defaults). Initialisers as torchvision: conv
// kaiming normal (fan_out), BN ones/zeros, Linear normal(0, 0.01) with zero bias.
//
// ImageNet form at scale 1.0: 3.50M parameters, 300M multiply-adds.
// Small form (28x28): the stem conv has stride 1, so the stages see 28, 28, 14, 7, 4, 4, 2, 2
// (the ImageNet form would run every stage at a quarter of that and reach 1x1 by stage 5).
#include "models/registry.h"

namespace qf {

int build_mobilenet_v2(ModelBuilder& b, int x, const ModelConfig& c) {
  if (!(c.scale > 0 && c.scale <= 4))
    throw_input_error("model.scale: ", c.scale, " is out of range for mobilenet_v2 (0, 4]");
  // (expansion t, output channels c, repeats n, stride s) of each stage.
  static const int64_t stages[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                       {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int64_t cin = make_divisible(32 * c.scale, 8);
  const int64_t last = make_divisible(1280 * std::max(1.0, c.scale), 8);
  x = b.conv_bn_act("features.0", x, c.in_channels, cin, 3, c.small_input ? 1 : 2, 1, "relu6");
  int index = 1;
  for (const auto& st : stages) {
    const int64_t t = st[0], cout = make_divisible(st[1] * c.scale, 8);
    for (int64_t i = 0; i < st[2]; ++i, ++index) {
      const int64_t stride = i == 0 ? st[3] : 1;
      const std::string p = "features." + std::to_string(index) + ".conv";
      const int64_t hidden = cin * t;
      int h = x, k = 0;
      if (t != 1)
        h = b.conv_bn_act(p + "." + std::to_string(k++), h, cin, hidden, 1, 1, 1, "relu6");
      h = b.conv_bn_act(p + "." + std::to_string(k++), h, hidden, hidden, 3, stride, hidden,
                        "relu6");
      h = b.conv2d(p + "." + std::to_string(k), h, hidden, cout, 1);
      h = b.batch_norm(p + "." + std::to_string(k + 1), h, cout);
      if (stride == 1 && cin == cout) h = b.add("features." + std::to_string(index) + ".add", x, h);
      x = h;
      cin = cout;
    }
  }
  x = b.conv_bn_act("features." + std::to_string(index), x, cin, last, 1, 1, 1, "relu6");
  x = b.global_avg_pool("avgpool", x);
  x = b.flatten("flatten", x);
  x = b.dropout("classifier.0", x, 0.2);
  return b.linear("classifier.1", x, last, c.num_classes, true, Init::normal(0, 0.01));
}

}  // namespace qf
