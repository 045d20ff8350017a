#include "models/builder.h"

#include <algorithm>
#include <cmath>

namespace qf {

int ModelBuilder::input(const std::string& name, const Shape& shape, DType dtype) {
  Value v;
  v.name = name;
  v.kind = ValueKind::input;
  v.shape = shape;
  v.dtype = dtype;
  return g_.add_value(std::move(v));
}

int ModelBuilder::param(const std::string& name, const Shape& shape, Init init) {
  Value v;
  v.name = name;
  v.kind = ValueKind::param;
  v.shape = shape;
  v.init = std::move(init);
  return g_.add_value(std::move(v));
}

int ModelBuilder::buffer(const std::string& name, const Shape& shape, Init init, DType dtype) {
  Value v;
  v.name = name;
  v.kind = ValueKind::buffer;
  v.shape = shape;
  v.dtype = dtype;
  v.init = std::move(init);
  return g_.add_value(std::move(v));
}

int ModelBuilder::op(const std::string& type, const std::string& path, std::vector<int> inputs,
                     Attrs attrs) {
  Value out;
  out.name = path;
  const int y = g_.add_value(std::move(out));
  Node n;
  n.op = type;
  n.name = path;
  n.inputs = std::move(inputs);
  n.outputs = {y};
  n.attrs = std::move(attrs);
  g_.add_node(std::move(n));
  return y;
}

int ModelBuilder::conv2d(const std::string& path, int x, int64_t cin, int64_t cout, int64_t kernel,
                         int64_t stride, int64_t pad, int64_t groups, bool bias, int64_t dilation,
                         Init weight_init) {
  const int w = param(path + ".weight", {cout, cin / groups, kernel, kernel}, weight_init);
  std::vector<int> in{x, w};
  if (bias) in.push_back(param(path + ".bias", {cout}, Init::zeros()));
  return op("conv2d", path, in,
            {{"strides", std::vector<int64_t>{stride, stride}},
             {"pads", std::vector<int64_t>{pad, pad, pad, pad}},
             {"dilations", std::vector<int64_t>{dilation, dilation}},
             {"group", groups}});
}

int ModelBuilder::batch_norm(const std::string& path, int x, int64_t c, double eps,
                             double momentum, Init weight_init) {
  const int gamma = param(path + ".weight", {c}, std::move(weight_init));
  const int beta = param(path + ".bias", {c}, Init::zeros());
  const int mean = buffer(path + ".running_mean", {c}, Init::zeros());
  const int var = buffer(path + ".running_var", {c}, Init::ones());
  return op("batch_norm", path, {x, gamma, beta, mean, var},
            {{"epsilon", eps}, {"momentum", momentum}});
}

int ModelBuilder::linear(const std::string& path, int x, int64_t in, int64_t out, bool bias,
                         Init weight_init, Init bias_init) {
  const int w = param(path + ".weight", {out, in}, weight_init);
  std::vector<int> ins{x, w};
  if (bias) ins.push_back(param(path + ".bias", {out}, bias_init));
  return op("linear", path, ins);
}

int ModelBuilder::max_pool2d(const std::string& path, int x, int64_t k, int64_t s, int64_t p,
                             bool ceil_mode) {
  return op("max_pool2d", path, {x},
            {{"kernel_shape", std::vector<int64_t>{k, k}},
             {"strides", std::vector<int64_t>{s, s}},
             {"pads", std::vector<int64_t>{p, p, p, p}},
             {"ceil_mode", int64_t{ceil_mode}}});
}

int ModelBuilder::avg_pool2d(const std::string& path, int x, int64_t k, int64_t s, int64_t p) {
  return op("avg_pool2d", path, {x},
            {{"kernel_shape", std::vector<int64_t>{k, k}},
             {"strides", std::vector<int64_t>{s, s}},
             {"pads", std::vector<int64_t>{p, p, p, p}}});
}

int ModelBuilder::dropout(const std::string& path, int x, double ratio) {
  return op("dropout", path, {x}, {{"ratio", ratio}});
}

int ModelBuilder::conv_bn_act(const std::string& path, int x, int64_t cin, int64_t cout,
                              int64_t kernel, int64_t stride, int64_t groups,
                              const std::string& act, double bn_eps, double bn_momentum,
                              Init conv_init) {
  x = conv2d(path + ".0", x, cin, cout, kernel, stride, (kernel - 1) / 2, groups, false, 1,
             std::move(conv_init));
  x = batch_norm(path + ".1", x, cout, bn_eps, bn_momentum);
  if (act.empty()) return x;
  QF_CHECK(act == "relu" || act == "relu6" || act == "hardswish", "unknown activation ", act);
  return op(act, path + ".2", {x});
}

int64_t make_divisible(double v, int64_t divisor) {
  int64_t r =
      std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(r) < 0.9 * v) r += divisor;
  return r;
}

void add_classification_loss(Graph& g, int logits, double label_smoothing) {
  ModelBuilder b(g);
  const int label = b.input("label", {-1}, DType::i32);
  const int loss = b.op("softmax_cross_entropy", "loss", {logits, label},
                        {{"label_smoothing", label_smoothing}});
  g.mark_output(loss);
}

}  // namespace qf
