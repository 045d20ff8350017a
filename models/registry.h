// The model registry: every command builds models by name (`--model NAME`, `[model] name = ...`).
//
// A built model is a graph with one input "image" (-1, in_channels, image_size, image_size) and
// the classifier's logits as graph output 0. The training loss is added separately
// (add_classification_loss), so the same graph serves training, evaluation and export.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "models/builder.h"

namespace qf {

struct ModelConfig {
  std::string name = "mobilenet_v1";
  double scale = 1.0;  // width multiplier (MobileNets; the other families take 1.0 only)
  int num_classes = 10;
  int in_channels = 1;
  int image_size = 28;  // height = width
  // The architecture variant: true builds the small-input form (Fashion-MNIST-sized images: the
  // stem and early strides adapted per family, docs/models.md), false the ImageNet form exactly
  // as torchvision defines it. Set from model.form (launch/lib/run_config.cpp).
  bool small_input = true;
  // ResNets: BatchNorm weight (gamma) of each block's last BN starts at 0, so every residual
  // block starts as the identity (Goyal et al. 2017; torchvision's zero_init_residual).
  bool zero_init_residual = false;
};

struct ModelInfo {
  std::string name;
  std::string description;
  // Emits the layers after `image` and returns the logits value.
  std::function<int(ModelBuilder&, int image, const ModelConfig&)> build;
  bool has_residual_bn = false;  // accepts ModelConfig::zero_init_residual
};

const std::vector<ModelInfo>& model_registry();
const ModelInfo* find_model(const std::string& name);
std::vector<std::string> model_names();

// Builds the named model (InputError listing the known names if it does not exist).
Graph build_model(const ModelConfig& config);

// Model `name` in the ImageNet form exactly as torchvision defines it (3x224x224 inputs, 1000
// classes, small_input false): what `--model.form imagenet` selects, and what benchmarks compare
// with PyTorch's models.
ModelConfig imagenet_form(const std::string& name);

// Layer builders of each model family (models/<family>.cpp).
int build_lenet(ModelBuilder& b, int x, const ModelConfig& c);
int build_mobilenet_v1(ModelBuilder& b, int x, const ModelConfig& c);
int build_mobilenet_v2(ModelBuilder& b, int x, const ModelConfig& c);
int build_mobilenet_v3_large(ModelBuilder& b, int x, const ModelConfig& c);
int build_mobilenet_v3_small(ModelBuilder& b, int x, const ModelConfig& c);
int build_resnet18(ModelBuilder& b, int x, const ModelConfig& c);
int build_resnet34(ModelBuilder& b, int x, const ModelConfig& c);
int build_resnet50(ModelBuilder& b, int x, const ModelConfig& c);
int build_vgg16_bn(ModelBuilder& b, int x, const ModelConfig& c);

// InputError unless model.scale is 1.0 (families without a width multiplier).
void require_unit_scale(const ModelConfig& c);

}  // namespace qf
