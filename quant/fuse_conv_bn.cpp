#include "quant/fuse_conv_bn.h"

#include <cmath>

#include "quant/ops/bn_fold/bn_fold_math.h"

namespace qf {
namespace {

const Tensor& data_of(const Graph& g, int v, const std::string& what) {
  const Value& val = g.value(v);
  if (val.init.kind != Init::Kind::data || !val.init.data.defined() || val.dtype != DType::f32)
    throw_input_error("fuse_conv_bn: ", what, " '", val.name,
                      "' has no float32 data (load the model's weights before folding)");
  return val.init.data;
}

// Value `old` with new data: edited in place when only `node` reads it, else a new parameter.
int with_data(Graph& g, const std::vector<std::vector<int>>& cons, int old, const std::string& name,
              const Tensor& t) {
  if (old >= 0 && cons[old].size() == 1 && g.value(old).kind == ValueKind::param) {
    g.value(old).init = Init::from(t);
    return old;
  }
  Value v;
  v.name = g.unique_value_name(name);
  v.kind = ValueKind::param;
  v.shape = t.shape();
  v.init = Init::from(t);
  return g.add_value(std::move(v));
}

bool has_data(const Graph& g, int v) {
  if (v < 0) return true;  // an absent conv bias
  const Value& val = g.value(v);
  return val.init.kind == Init::Kind::data && val.init.data.defined() && val.dtype == DType::f32;
}

}  // namespace

int fuse_conv_bn(Graph& g, bool skip_without_data) {
  int folded = 0;
  for (bool again = true; again;) {
    again = false;
    const auto cons = g.consumers();
    const auto prod = g.producers();
    for (size_t i = 0; i < g.nodes().size(); ++i) {
      const Node& bn = g.nodes()[i];
      if (bn.op != "batch_norm") continue;
      const int x = bn.inputs[0];
      const int p = prod[x];
      if (p < 0 || g.nodes()[p].op != "conv2d" || cons[x].size() != 1) continue;
      bool is_output = false;
      for (int o : g.outputs()) is_output = is_output || o == x;
      if (is_output) continue;
      const Node conv = g.nodes()[p];
      if (skip_without_data) {
        bool all = true;
        for (int v : {conv.inputs[1], conv.inputs.size() > 2 ? conv.inputs[2] : -1, bn.inputs[1],
                      bn.inputs[2], bn.inputs[3], bn.inputs[4]})
          all = all && has_data(g, v);
        if (!all) continue;
      }
      const Tensor& w = data_of(g, conv.inputs[1], "conv weight");
      const Tensor& gamma = data_of(g, bn.inputs[1], "BN weight");
      const Tensor& beta = data_of(g, bn.inputs[2], "BN bias");
      const Tensor& mean = data_of(g, bn.inputs[3], "BN running_mean");
      const Tensor& var = data_of(g, bn.inputs[4], "BN running_var");
      const bool has_b = conv.inputs.size() > 2 && conv.inputs[2] >= 0;
      const double eps = bn.attrs.get_float("epsilon", 1e-5);
      const int64_t K = w.dim(0), per = w.numel() / K;
      Tensor w2 = Tensor::empty(w.shape(), DType::f32), b2 = Tensor::empty({K}, DType::f32);
      for (int64_t k = 0; k < K; ++k) {
        const double s = bn_fold_factor<double>(gamma.data<float>()[k], var.data<float>()[k], eps);
        for (int64_t j = 0; j < per; ++j)
          w2.data<float>()[k * per + j] = static_cast<float>(w.data<float>()[k * per + j] * s);
        const double b = has_b ? data_of(g, conv.inputs[2], "conv bias").data<float>()[k] : 0.0;
        b2.data<float>()[k] = static_cast<float>((b - mean.data<float>()[k]) * s + beta.data<float>()[k]);
      }
      const int wv = with_data(g, cons, conv.inputs[1], conv.name + ".weight", w2);
      const int bv = with_data(g, cons, has_b ? conv.inputs[2] : -1, conv.name + ".bias", b2);
      Node& c = g.nodes()[p];
      c.inputs = {c.inputs[0], wv, bv};
      const int y = bn.outputs[0];
      g.replace_uses(y, x);
      g.remove_nodes({static_cast<int>(i)});
      ++folded;
      again = true;
      break;
    }
  }
  return folded;
}

}  // namespace qf
