#include "models/registry.h"

namespace qf {

const std::vector<ModelInfo>& model_registry() {
  static const std::vector<ModelInfo> models = {
      {"lenet", "LeNet as paddle.vision.models.LeNet (two convs, three linears)", build_lenet},
      {"mobilenet_v1", "MobileNetV1 (Howard et al. 2017) with width scale", build_mobilenet_v1},
      {"mobilenet_v2", "MobileNetV2 as torchvision (inverted residuals, width scale)",
       build_mobilenet_v2},
      {"mobilenet_v3_large", "MobileNetV3-Large as torchvision (SE, hardswish, width scale)",
       build_mobilenet_v3_large},
      {"mobilenet_v3_small", "MobileNetV3-Small as torchvision (SE, hardswish, width scale)",
       build_mobilenet_v3_small},
      {"resnet18", "ResNet18 as torchvision (basic blocks)", build_resnet18, true},
      {"resnet34", "ResNet34 as torchvision (basic blocks)", build_resnet34, true},
      {"resnet50", "ResNet50 v1.5 as torchvision (bottlenecks, stride on the 3x3 conv)",
       build_resnet50, true},
      {"vgg16_bn", "VGG16 with batch norm as torchvision (vgg16_bn)", build_vgg16_bn},
  };
  return models;
}

const ModelInfo* find_model(const std::string& name) {
  for (const ModelInfo& m : model_registry())
    if (m.name == name) return &m;
  return nullptr;
}

std::vector<std::string> model_names() {
  std::vector<std::string> r;
  for (const ModelInfo& m : model_registry()) r.push_back(m.name);
  return r;
}

void require_unit_scale(const ModelConfig& c) {
  if (c.scale != 1.0)
    throw_input_error("model.scale: ", c.scale, " is not supported by ", c.name,
                      " (allowed: 1.0; width multipliers exist for the MobileNets only)");
}

Graph build_model(const ModelConfig& c) {
  const ModelInfo* m = find_model(c.name);
  if (!m) {
    std::string names;
    for (const std::string& n : model_names()) names += (names.empty() ? "" : ", ") + n;
    throw_input_error("model.name: '", c.name, "' is not a known model (allowed: ", names, ")");
  }
  if (c.zero_init_residual && !m->has_residual_bn)
    throw_input_error("model.zero_init_residual: ", c.name,
                      " has no residual BatchNorm to zero (allowed for resnet18, resnet34, "
                      "resnet50)");
  Graph g;
  ModelBuilder b(g);
  const int image = b.input("image", {-1, c.in_channels, c.image_size, c.image_size});
  const int logits = m->build(b, image, c);
  g.mark_output(logits);
  g.validate();
  return g;
}

ModelConfig imagenet_form(const std::string& name) {
  ModelConfig c;
  c.name = name;
  c.num_classes = 1000;
  c.in_channels = 3;
  c.image_size = 224;
  c.small_input = false;
  return c;
}

}  // namespace qf
