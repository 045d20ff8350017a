// Weight-only quantization (contract in quant/dynamic_quant.h).
#include "quant/dynamic_quant.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "quant/quant_aware.h"

namespace qf {
namespace {

int add_constant(Graph& g, const std::string& name, Tensor t) {
  Value v;
  v.name = g.unique_value_name(name);
  v.kind = ValueKind::constant;
  v.shape = t.shape();
  v.dtype = t.dtype();
  v.init = Init::from(std::move(t));
  return g.add_value(std::move(v));
}

int add_activation(Graph& g, const std::string& name) {
  Value v;
  v.name = g.unique_value_name(name);
  return g.add_value(std::move(v));
}

}  // namespace

Graph quantize_weights_dynamic(const Graph& src, const DynamicQuantConfig& c, bool dequantized,
                               DynamicQuantReport* report) {
  Graph g = src;
  const std::set<std::string> types(c.quantizable_op_type.begin(), c.quantizable_op_type.end());
  const bool per_channel = c.weight_quantize_type == "channel_wise_abs_max";
  const double bnt = static_cast<double>((1 << (c.weight_bits - 1)) - 1);
  DynamicQuantReport rep;
  std::vector<Node> old = std::move(g.nodes());
  g.nodes().clear();
  std::map<int, int> done;  // weight value -> its replacement (weights shared by several ops)
  for (Node n : old) {
    const std::string type = paddle_op_type(g, n);
    const Value& wv = g.value(n.inputs.size() > 1 ? n.inputs[1] : 0);
    const bool data = n.inputs.size() > 1 && (wv.kind == ValueKind::param || wv.kind == ValueKind::constant) &&
                      wv.init.kind == Init::Kind::data && wv.dtype == DType::f32;
    if (type.empty() || !types.count(type) || !data) {
      g.nodes().push_back(std::move(n));
      continue;
    }
    if (auto it = done.find(n.inputs[1]); it != done.end()) {
      n.inputs[1] = it->second;
      g.nodes().push_back(std::move(n));
      continue;
    }
    const Tensor w = wv.init.data;
    const std::string wname = wv.name;
    const int64_t K = per_channel ? w.dim(0) : 1, per = w.numel() / K;
    std::vector<float> step(K);
    Tensor q = Tensor::empty(w.shape(), c.weight_bits == 8 ? DType::i8 : DType::i16);
    Tensor f = Tensor::empty(w.shape(), DType::f32);
    for (int64_t k = 0; k < K; ++k) {
      float m = 0;
      for (int64_t j = 0; j < per; ++j) m = std::max(m, std::fabs(w.data<float>()[k * per + j]));
      const double s = (m == 0 ? 1e-8 : m) / bnt;
      step[k] = static_cast<float>(s);
      for (int64_t j = 0; j < per; ++j) {
        const int64_t i = k * per + j;
        const double v = std::clamp(std::nearbyint(w.data<float>()[i] / s), -bnt - 1, bnt);
        if (c.weight_bits == 8)
          q.data<int8_t>()[i] = static_cast<int8_t>(v);
        else
          q.data<int16_t>()[i] = static_cast<int16_t>(v);
        f.data<float>()[i] = static_cast<float>(v) * step[k];
      }
    }
    int replacement;
    if (dequantized) {
      replacement = add_constant(g, wname + ".dequantized", f);
    } else {
      const int qv = add_constant(g, wname + ".quantized", q);
      if (c.weight_bits == 8) {
        const Shape ss = K == 1 ? Shape{} : Shape{K};
        const int sv = add_constant(g, wname + ".scale", Tensor::from(ss, step));
        const int zv = add_constant(g, wname + ".zero_point", Tensor::zeros(ss, DType::i8));
        replacement = add_activation(g, wname + ".dequantized");
        g.nodes().push_back({"dequantize_linear", g.unique_node_name(n.name + ".weight.dequantize_linear"),
                             {qv, sv, zv}, {replacement}, {{"axis", int64_t{0}}}});
      } else {
        Shape ss(w.rank(), 1);  // (K, 1, 1, 1) or (K, 1): broadcasts over each output channel
        ss[0] = K;
        const int sv = add_constant(g, wname + ".scale", Tensor::from(ss, step));
        const int cast = add_activation(g, wname + ".cast");
        replacement = add_activation(g, wname + ".dequantized");
        g.nodes().push_back({"cast", g.unique_node_name(n.name + ".weight.cast"), {qv}, {cast},
                             {{"to", std::string("float32")}}});
        g.nodes().push_back({"mul", g.unique_node_name(n.name + ".weight.mul"), {cast, sv},
                             {replacement}, {}});
      }
    }
    done[n.inputs[1]] = replacement;
    n.inputs[1] = replacement;
    g.nodes().push_back(std::move(n));
    ++rep.weights;
    rep.quantized_values += w.numel();
  }
  if (rep.weights == 0)
    throw_input_error("ptq_dynamic: no weight to quantize (no ", [&] {
      std::string s;
      for (const auto& t : c.quantizable_op_type) s += (s.empty() ? "" : ", ") + t;
      return s;
    }(), " op with a float32 weight)");
  g.remove_unused_values();
  g.validate();
  if (report) *report = rep;
  return g;
}

}  // namespace qf
