// Weight-only quantization (contract in quant/dynamic_quant.h).
#include "quant/dynamic_quant.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "quant/quant_aware.h"

namespace qf {
namespace {

// One weight on the integer grid: levels q (int8 or int16), their dequantized values, the steps.
struct DynamicWeight {
  Tensor q, dequantized;
  std::vector<float> step;  // per output channel (axis 0) or one
};

DynamicWeight quantize_dynamic(const Tensor& w, const DynamicQuantConfig& c) {
  const double bnt = static_cast<double>((1 << (c.weight_bits - 1)) - 1);
  const int64_t K = c.per_channel ? w.dim(0) : 1, per = w.numel() / K;
  DynamicWeight r;
  r.step.resize(K);
  r.q = Tensor::empty(w.shape(), c.weight_bits == 8 ? DType::i8 : DType::i16);
  r.dequantized = Tensor::empty(w.shape(), DType::f32);
  for (int64_t k = 0; k < K; ++k) {
    float m = 0;
    for (int64_t j = 0; j < per; ++j) m = std::max(m, std::fabs(w.data<float>()[k * per + j]));
    const double s = (m == 0 ? 1e-8 : m) / bnt;
    r.step[k] = static_cast<float>(s);
    for (int64_t j = 0; j < per; ++j) {
      const int64_t i = k * per + j;
      const double v = std::clamp(std::nearbyint(w.data<float>()[i] / s), -bnt - 1, bnt);
      if (c.weight_bits == 8)
        r.q.data<int8_t>()[i] = static_cast<int8_t>(v);
      else
        r.q.data<int16_t>()[i] = static_cast<int16_t>(v);
      r.dequantized.data<float>()[i] = static_cast<float>(v) * r.step[k];
    }
  }
  return r;
}

// The value a quantized weight is read through: the dequantized constant (test model), an int8
// DequantizeLinear, or int16 Cast and Mul (see quant/dynamic_quant.h).
int emit_dynamic_weight(Graph& g, const Node& n, const std::string& wname, const DynamicWeight& dw,
                        int bits, bool dequantized) {
  if (dequantized) return g.add_constant(wname + ".dequantized", dw.dequantized);
  const int qv = g.add_constant(wname + ".quantized", dw.q);
  const int64_t K = static_cast<int64_t>(dw.step.size());
  if (bits == 8) {
    const Shape ss = K == 1 ? Shape{} : Shape{K};
    const int sv = g.add_constant(wname + ".scale", Tensor::from(ss, dw.step));
    const int zv = g.add_constant(wname + ".zero_point", Tensor::zeros(ss, DType::i8));
    const int r = g.add_activation(wname + ".dequantized");
    g.nodes().push_back({"dequantize_linear",
                         g.unique_node_name(n.name + ".weight.dequantize_linear"),
                         {qv, sv, zv},
                         {r},
                         {{"axis", int64_t{0}}}});
    return r;
  }
  Shape ss(dw.q.rank(), 1);  // (K, 1, 1, 1) or (K, 1): broadcasts over each output channel
  ss[0] = K;
  const int sv = g.add_constant(wname + ".scale", Tensor::from(ss, dw.step));
  const int cast = g.add_activation(wname + ".cast");
  const int r = g.add_activation(wname + ".dequantized");
  g.nodes().push_back({"cast",
                       g.unique_node_name(n.name + ".weight.cast"),
                       {qv},
                       {cast},
                       {{"to", std::string("float32")}}});
  g.nodes().push_back({"mul", g.unique_node_name(n.name + ".weight.mul"), {cast, sv}, {r}, {}});
  return r;
}

// A node's float32 weight data, when it has one.
bool has_weight_data(const Graph& g, const Node& n) {
  if (n.inputs.size() <= 1) return false;
  const Value& wv = g.value(n.inputs[1]);
  return (wv.kind == ValueKind::param || wv.kind == ValueKind::constant) &&
         wv.init.kind == Init::Kind::data && wv.dtype == DType::f32;
}

}  // namespace

Graph quantize_weights_dynamic(const Graph& src, const DynamicQuantConfig& c, bool dequantized,
                               DynamicQuantReport* report) {
  Graph g = src;
  const std::set<std::string> types(c.quantizable_op_type.begin(), c.quantizable_op_type.end());
  DynamicQuantReport rep;
  std::vector<Node> old = std::move(g.nodes());
  g.nodes().clear();
  std::map<int, int> done;  // weight value -> its replacement (weights shared by several ops)
  for (Node n : old) {
    const std::string type = paddle_op_type(g, n);
    if (type.empty() || !types.count(type) || !has_weight_data(g, n)) {
      g.nodes().push_back(std::move(n));
      continue;
    }
    if (auto it = done.find(n.inputs[1]); it != done.end()) {
      n.inputs[1] = it->second;
      g.nodes().push_back(std::move(n));
      continue;
    }
    const Tensor w = g.value(n.inputs[1]).init.data;
    const std::string wname = g.value(n.inputs[1]).name;
    const int replacement =
        emit_dynamic_weight(g, n, wname, quantize_dynamic(w, c), c.weight_bits, dequantized);
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
