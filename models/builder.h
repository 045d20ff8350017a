// ModelBuilder: emits graph nodes and parameters with torchvision's module names, one call per
// layer, so model definitions read like their PyTorch counterparts:
//
//   x = b.conv2d("features.0.0", x, 3, 32, 3, 2, 1);   // params features.0.0.weight
//   x = b.batch_norm("features.0.1", x, 32);           // .weight .bias .running_mean .running_var
//   x = b.relu("features.0.2", x);
//
// Every call returns the id of the value it produced; the node and its output value share the
// module path as their name. Initialisers follow torchvision (conv: kaiming normal, fan-out; BN:
// ones/zeros; linear: as the caller says, since torchvision models differ) unless the caller
// names another (MobileNetV1, a PaddleSlim model, uses Paddle's MSRA for its convs).
#pragma once

#include <string>

#include "nn/graph.h"

namespace qf {

class ModelBuilder {
 public:
  explicit ModelBuilder(Graph& g) : g_(g) {}
  Graph& graph() { return g_; }

  int input(const std::string& name, const Shape& shape, DType dtype = DType::f32);
  int param(const std::string& name, const Shape& shape, Init init);
  int buffer(const std::string& name, const Shape& shape, Init init, DType dtype = DType::f32);

  int conv2d(const std::string& path, int x, int64_t cin, int64_t cout, int64_t kernel,
             int64_t stride = 1, int64_t pad = 0, int64_t groups = 1, bool bias = false,
             int64_t dilation = 1, Init weight_init = Init::kaiming_normal_fan_out());
  int batch_norm(const std::string& path, int x, int64_t channels, double eps = 1e-5,
                 double momentum = 0.1, Init weight_init = Init::ones());
  int linear(const std::string& path, int x, int64_t in, int64_t out, bool bias = true,
             Init weight_init = Init::normal(0, 0.01), Init bias_init = Init::zeros());
  int relu(const std::string& path, int x) { return op("relu", path, {x}); }
  int relu6(const std::string& path, int x) { return op("relu6", path, {x}); }
  int hardswish(const std::string& path, int x) { return op("hardswish", path, {x}); }
  int hardsigmoid(const std::string& path, int x) { return op("hardsigmoid", path, {x}); }
  int sigmoid(const std::string& path, int x) { return op("sigmoid", path, {x}); }
  int add(const std::string& path, int a, int b) { return op("add", path, {a, b}); }
  int mul(const std::string& path, int a, int b) { return op("mul", path, {a, b}); }
  int max_pool2d(const std::string& path, int x, int64_t kernel, int64_t stride, int64_t pad = 0,
                 bool ceil_mode = false);
  int avg_pool2d(const std::string& path, int x, int64_t kernel, int64_t stride, int64_t pad = 0);
  int global_avg_pool(const std::string& path, int x) { return op("global_avg_pool", path, {x}); }
  int flatten(const std::string& path, int x) {
    return op("flatten", path, {x}, {{"axis", int64_t{1}}});
  }
  int dropout(const std::string& path, int x, double ratio);

  // torchvision's Conv2dNormActivation: a bias-free conv with padding (kernel - 1) / 2 at
  // `path.0`, BatchNorm at `path.1`, then `act` ("relu", "relu6", "hardswish"; "" for none) at
  // `path.2`.
  int conv_bn_act(const std::string& path, int x, int64_t cin, int64_t cout, int64_t kernel,
                  int64_t stride, int64_t groups, const std::string& act, double bn_eps = 1e-5,
                  double bn_momentum = 0.1, Init conv_init = Init::kaiming_normal_fan_out());

  // Any registered single-output op; its output value is named `path`.
  int op(const std::string& type, const std::string& path, std::vector<int> inputs,
         Attrs attrs = {});

 private:
  Graph& g_;
};

// torchvision's _make_divisible (from the TensorFlow MobileNet code): the multiple of `divisor`
// nearest to v (at least `divisor`), bumped up by one step when rounding lost more than 10%.
int64_t make_divisible(double v, int64_t divisor);

// Appends the training loss to a classifier graph: an int32 input "label" (N) and a node "loss"
// computing softmax cross-entropy of `logits` with label smoothing. Marks "loss" as an output.
void add_classification_loss(Graph& g, int logits, double label_smoothing);

}  // namespace qf
