// VGG16 with batch norm (Simonyan & Zisserman, 2014; torchvision's vgg16_bn, configuration "D")
// exactly as torchvision 0.14 defines it (torchvision/models/vgg.py), with its module names:
//
//   features.i       per entry of [64, 64, M, 128, 128, M, 256 x3, M, 512 x3, M, 512 x3, M]:
//                    a 3x3 conv (padding 1, with bias), BatchNorm and ReLU take three indices,
//                    a 2x2 stride-2 max pool ("M") one; the last pool is features.43
//   avgpool          AdaptiveAvgPool2d((7, 7))
//   flatten
//   classifier       .0 Linear(512*7*7, 4096), .1 ReLU, .2 Dropout(0.5),
//                    .3 Linear(4096, 4096), .4 ReLU, .5 Dropout(0.5), .6 Linear(4096, classes)
//
// The adaptive pool is an average pool with kernel = stride = F / 7 for an F x F feature map
// (F = image_size / 32; at 224, F = 7 and the pool is the identity). Torchvision's adaptive pool
// also accepts sizes that 7 does not divide; this builder does not (InputError), so the ImageNet
// form needs image_size to be a multiple of 224.
// Initialisers as torchvision: conv kaiming normal (fan_out) with zero bias, BN ones/zeros,
// Linear normal(0, 0.01) with zero bias.
//
// ImageNet form: 138.37M parameters, 15.5G multiply-adds.
// Small form (28x28): the last max pool (features.43) is left out, so the five conv blocks see
// 28, 14, 7, 3 and 1 pixels, and the adaptive pool is a global one (1x1), so classifier.0 is
// Linear(512, 4096). Names and the classifier are otherwise the ImageNet form's.
#include "models/registry.h"

namespace qf {

int build_vgg16_bn(ModelBuilder& b, int x, const ModelConfig& c) {
  require_unit_scale(c);
  static const int64_t cfg[] = {64, 64,  0,   128, 128, 0,   256, 256, 256,
                                0,  512, 512, 512, 0,   512, 512, 512, 0};  // 0 = max pool
  const int n = static_cast<int>(std::size(cfg)) - (c.small_input ? 1 : 0);
  int64_t cin = c.in_channels, index = 0, size = c.image_size;
  for (int i = 0; i < n; ++i) {
    const std::string p = "features.";
    if (cfg[i] == 0) {
      if (size < 2)
        throw_input_error("model.image_size: ", c.image_size, " is too small for ", c.name, " (",
                          c.small_input ? "minimum 16" : "minimum 224 in the imagenet form", ")");
      x = b.max_pool2d(p + std::to_string(index++), x, 2, 2);
      size /= 2;
      continue;
    }
    x = b.conv2d(p + std::to_string(index++), x, cin, cfg[i], 3, 1, 1, 1, true);
    x = b.batch_norm(p + std::to_string(index++), x, cfg[i]);
    x = b.relu(p + std::to_string(index++), x);
    cin = cfg[i];
  }
  int64_t features = 512;
  if (c.small_input) {
    x = b.global_avg_pool("avgpool", x);
  } else {
    if (size % 7 != 0)
      throw_input_error("model.image_size: ", c.image_size, " leaves a ", size, "x", size,
                        " feature map in ", c.name,
                        "; its adaptive 7x7 average pool is built for "
                        "multiples of 7 only (image_size 224, 448, ...)");
    x = b.avg_pool2d("avgpool", x, size / 7, size / 7);
    features = 512 * 7 * 7;
  }
  x = b.flatten("flatten", x);
  x = b.linear("classifier.0", x, features, 4096, true, Init::normal(0, 0.01));
  x = b.relu("classifier.1", x);
  x = b.dropout("classifier.2", x, 0.5);
  x = b.linear("classifier.3", x, 4096, 4096, true, Init::normal(0, 0.01));
  x = b.relu("classifier.4", x);
  x = b.dropout("classifier.5", x, 0.5);
  return b.linear("classifier.6", x, 4096, c.num_classes, true, Init::normal(0, 0.01));
}

}  // namespace qf
