// ResNet18, ResNet34 and ResNet50 exactly as torchvision 0.14 defines them
// (torchvision/models/resnet.py; ResNet50 is "v1.5": the stride of a downsampling bottleneck
// sits on its 3x3 conv), with its module names:
//
//   conv1 (7x7, stride 2, pad 3), bn1, relu, maxpool (3x3, stride 2, pad 1)
//   layer{1..4}.{j}       BasicBlock:  conv1 3x3 (stride s), bn1, relu, conv2 3x3, bn2
//                         Bottleneck:  conv1 1x1, bn1, relu, conv2 3x3 (stride s), bn2, relu_1,
//                                      conv3 1x1 (4x wide), bn3
//                         downsample.0 1x1 conv (stride s), downsample.1 bn — first block of a
//                                      stage whose stride or width changes
//                         add (residual), then the block's last relu
//   avgpool, flatten, fc
//
// torchvision's blocks call one ReLU module several times; here each call is a node of its own,
// named as torch.fx traces them (relu, relu_1, relu_2). Convs have no bias. Initialisers as
// torchvision: conv kaiming normal (fan_out), BN ones/zeros, fc PyTorch's Linear default
// (uniform, bound 1/sqrt(fan_in), weight and bias). model.zero_init_residual (torchvision's
// zero_init_residual, off by default) starts the last BN weight of each block (bn2 / bn3) at 0.
//
// ImageNet form: ResNet18 11.69M parameters / 1.82G multiply-adds, ResNet34 21.80M / 3.67G,
// ResNet50 25.56M / 4.09G.
// Small form (28x28): conv1 is 3x3 with stride 1 and padding 1 and the max pool stays, so layer1
// runs at 14x14, layer2 7x7, layer3 4x4, layer4 2x2 (the ImageNet stem would leave 7x7 for layer1
// and 1x1 from layer3 on).
#include "models/registry.h"

namespace qf {
namespace {

struct ResNetSpec {
  bool bottleneck;
  int blocks[4];
};

// The weight initialiser of a block's last BatchNorm.
Init last_bn_init(const ModelConfig& c) { return c.zero_init_residual ? Init::zeros() : Init::ones(); }

int basic_block(ModelBuilder& b, const std::string& p, int x, int64_t cin, int64_t planes,
                int64_t stride, const ModelConfig& c) {
  int h = b.conv2d(p + ".conv1", x, cin, planes, 3, stride, 1);
  h = b.relu(p + ".relu", b.batch_norm(p + ".bn1", h, planes));
  h = b.conv2d(p + ".conv2", h, planes, planes, 3, 1, 1);
  h = b.batch_norm(p + ".bn2", h, planes, 1e-5, 0.1, last_bn_init(c));
  if (stride != 1 || cin != planes) {
    x = b.conv2d(p + ".downsample.0", x, cin, planes, 1, stride, 0);
    x = b.batch_norm(p + ".downsample.1", x, planes);
  }
  return b.relu(p + ".relu_1", b.add(p + ".add", h, x));
}

int bottleneck(ModelBuilder& b, const std::string& p, int x, int64_t cin, int64_t planes,
               int64_t stride, const ModelConfig& c) {
  const int64_t cout = planes * 4;
  int h = b.conv2d(p + ".conv1", x, cin, planes, 1);
  h = b.relu(p + ".relu", b.batch_norm(p + ".bn1", h, planes));
  h = b.conv2d(p + ".conv2", h, planes, planes, 3, stride, 1);
  h = b.relu(p + ".relu_1", b.batch_norm(p + ".bn2", h, planes));
  h = b.conv2d(p + ".conv3", h, planes, cout, 1);
  h = b.batch_norm(p + ".bn3", h, cout, 1e-5, 0.1, last_bn_init(c));
  if (stride != 1 || cin != cout) {
    x = b.conv2d(p + ".downsample.0", x, cin, cout, 1, stride, 0);
    x = b.batch_norm(p + ".downsample.1", x, cout);
  }
  return b.relu(p + ".relu_2", b.add(p + ".add", h, x));
}

int build(ModelBuilder& b, int x, const ModelConfig& c, const ResNetSpec& spec) {
  require_unit_scale(c);
  if (c.small_input) {
    x = b.conv2d("conv1", x, c.in_channels, 64, 3, 1, 1);
  } else {
    x = b.conv2d("conv1", x, c.in_channels, 64, 7, 2, 3);
  }
  x = b.relu("relu", b.batch_norm("bn1", x, 64));
  x = b.max_pool2d("maxpool", x, 3, 2, 1);
  int64_t cin = 64;
  for (int stage = 0; stage < 4; ++stage) {
    const int64_t planes = int64_t{64} << stage;
    for (int j = 0; j < spec.blocks[stage]; ++j) {
      const std::string p = "layer" + std::to_string(stage + 1) + "." + std::to_string(j);
      const int64_t stride = (j == 0 && stage > 0) ? 2 : 1;
      x = spec.bottleneck ? bottleneck(b, p, x, cin, planes, stride, c)
                          : basic_block(b, p, x, cin, planes, stride, c);
      cin = spec.bottleneck ? planes * 4 : planes;
    }
  }
  x = b.global_avg_pool("avgpool", x);
  x = b.flatten("flatten", x);
  return b.linear("fc", x, cin, c.num_classes, true, Init::kaiming_uniform_fan_in(cin),
                  Init::kaiming_uniform_fan_in(cin));
}

}  // namespace

int build_resnet18(ModelBuilder& b, int x, const ModelConfig& c) {
  return build(b, x, c, {false, {2, 2, 2, 2}});
}

int build_resnet34(ModelBuilder& b, int x, const ModelConfig& c) {
  return build(b, x, c, {false, {3, 4, 6, 3}});
}

int build_resnet50(ModelBuilder& b, int x, const ModelConfig& c) {
  return build(b, x, c, {true, {3, 4, 6, 3}});
}

}  // namespace qf
