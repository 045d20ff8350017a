// LeNet exactly as paddle.vision.models.LeNet defines it (the PaddleSlim demos' small model):
//   features: Conv2D(in, 6, 3, padding 1), ReLU, MaxPool2D(2, 2),
//             Conv2D(6, 16, 5), ReLU, MaxPool2D(2, 2)
//   fc:       Linear(16*s*s, 120), Linear(120, 84), Linear(84, num_classes)
// (Paddle's LeNet has no activation between its linear layers; we keep its definition.)
// On 28x28 inputs s = 5, so fc.0 takes 400 features; on 224x224, s = 54.
#include "models/registry.h"

namespace qf {

int build_lenet(ModelBuilder& b, int x, const ModelConfig& c) {
  const int64_t s = ((c.image_size / 2) - 4) / 2;
  if (s < 1)
    throw_input_error("model.image_size: ", c.image_size, " is too small for lenet (minimum 12)");
  x = b.conv2d("features.0", x, c.in_channels, 6, 3, 1, 1, 1, true, 1,
               Init::kaiming_uniform_fan_in(c.in_channels * 9));
  x = b.relu("features.1", x);
  x = b.max_pool2d("features.2", x, 2, 2);
  x = b.conv2d("features.3", x, 6, 16, 5, 1, 0, 1, true, 1, Init::kaiming_uniform_fan_in(6 * 25));
  x = b.relu("features.4", x);
  x = b.max_pool2d("features.5", x, 2, 2);
  x = b.flatten("flatten", x);
  const int64_t in = 16 * s * s;
  x = b.linear("fc.0", x, in, 120, true, Init::kaiming_uniform_fan_in(in),
               Init::kaiming_uniform_fan_in(in));
  x = b.linear("fc.1", x, 120, 84, true, Init::kaiming_uniform_fan_in(120),
               Init::kaiming_uniform_fan_in(120));
  return b.linear("fc.2", x, 84, c.num_classes, true, Init::kaiming_uniform_fan_in(84),
                  Init::kaiming_uniform_fan_in(84));
}

}  // namespace qf
