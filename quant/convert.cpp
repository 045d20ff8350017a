// convert pass (contract in quant/convert.h).
#include "quant/convert.h"

#include <cmath>
#include <map>
#include <set>

#include "nn/param_store.h"
#include "quant/conv_unit.h"
#include "quant/ops/bn_fold/bn_fold_math.h"
#include "quant/ops/fake_quant/fake_quant.h"
#include "quant/quant_aware.h"

namespace qf {
namespace {

// The nodes computing g.outputs()[0], with only the values they use (no loss, no labels).
Graph prune_to_logits(const Graph& g) {
  QF_CHECK(!g.outputs().empty(), "graph without outputs");
  const int out = g.outputs()[0];
  const Needed need = needed_for(g, {out});
  std::vector<Node> nodes;
  for (size_t i = 0; i < g.nodes().size(); ++i)
    if (need.nodes[i]) nodes.push_back(g.nodes()[i]);
  return graph_from_nodes(g, std::move(nodes), {out});
}

const Tensor& state_tensor(const TensorMap& st, const std::string& name) {
  auto it = st.find(name);
  if (it == st.end()) throw_input_error("convert: the model state has no tensor '", name, "'");
  return it->second;
}

// Parameters and buffers become constants holding their data.
void freeze_values(Graph& g, const TensorMap& st) {
  for (int v = 0; v < g.num_values(); ++v) {
    Value& val = g.value(v);
    if (val.kind != ValueKind::param && val.kind != ValueKind::buffer) continue;
    const Tensor& t = state_tensor(st, val.name);
    if (t.shape() != val.shape || t.dtype() != val.dtype)
      throw_input_error("convert: tensor '", val.name, "' has shape ", shape_str(t.shape()),
                        ", the graph expects ", shape_str(val.shape));
    val.kind = ValueKind::constant;
    val.init = Init::from(t.clone());
  }
}

Tensor scalar_f32(float v) {
  return Tensor::from({}, {v});
}

class Converter {
 public:
  Converter(const Graph& qat, const TensorMap& st, ConvertForm form, ConvertReport& rep)
      : g_(prune_to_logits(qat)), st_(st), form_(form), rep_(rep) {
    prod_ = g_.producers();
    cons_ = g_.consumers();
  }

  Graph run() {
    collect_activation_scales();
    const auto& nodes = g_.nodes();
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node& n = nodes[i];
      if (skip_.count(static_cast<int>(i))) continue;
      if (is_fake_quant_op(n.op) && n.attrs.get_int("is_weight", 0)) continue;  // at the op
      if (n.op == "bn_fold_weight") continue;
      // A quantizing observer (quant_aware's, attr quantize = 1) is an activation quantizer in the
      // float-grid form; in the int8 form the conv-output pair it gave its scale to already
      // quantizes there (relu commutes), so it disappears like Paddle's identity observers.
      const bool quantizing_observer = n.op == "moving_average_abs_max_scale" &&
                                       n.attrs.get_int("quantize", 0) == 1 &&
                                       form_ == ConvertForm::float_grid;
      if ((n.op == "pact" || n.op == "moving_average_abs_max_scale") && !quantizing_observer) {
        if (!weight_side(n.outputs[0])) repl_[n.outputs[0]] = resolve(n.inputs[0]);
        continue;
      }
      if (is_fake_quant_op(n.op)) {
        const float T = threshold(n);
        const int x = resolve(n.inputs[0]);
        repl_[n.outputs[0]] = emit_qdq(x, T / static_cast<float>(bnt(n)), n.name);
        ++rep_.activation_pairs;
        continue;
      }
      if ((n.op == "conv2d" || n.op == "linear") && weight_quantizer(n) >= 0) {
        emit_weighted(static_cast<int>(i));
        continue;
      }
      if (n.op == "bn_unscale")
        throw_input_error("convert: node '", n.name,
                          "' (bn_unscale) does not follow a quantized conv");
      Node m = n;
      for (int& v : m.inputs)
        if (v >= 0) v = resolve(v);
      out_.push_back(std::move(m));
    }
    Graph r = graph_from_nodes(g_, std::move(out_), {resolve(g_.outputs()[0])});
    freeze_values(r, st_);
    r.validate();
    return r;
  }

 private:
  int resolve(int v) const {
    for (auto it = repl_.find(v); it != repl_.end(); it = repl_.find(v)) v = it->second;
    return v;
  }
  static int64_t bnt(const Node& n) { return quant_bin_count(n.attrs.get_int("bits", 8)); }

  // True when `v` feeds (through pact) only a weight quantizer.
  bool weight_side(int v) const {
    for (int c : cons_[v]) {
      const Node& n = g_.nodes()[c];
      if (!(is_fake_quant_op(n.op) && n.attrs.get_int("is_weight", 0))) return false;
    }
    return !cons_[v].empty();
  }

  // Index of the weight quantizer feeding a conv/linear node's weight, or -1.
  int weight_quantizer(const Node& n) const {
    const int p = prod_[n.inputs[1]];
    if (p < 0) return -1;
    const Node& q = g_.nodes()[p];
    return is_fake_quant_op(q.op) && q.attrs.get_int("is_weight", 0) ? p : -1;
  }

  // The host value of a weight-side value: a parameter, possibly through bn_fold_weight and pact.
  Tensor host_value(int v) const {
    const Value& val = g_.value(v);
    if (val.kind == ValueKind::param || val.kind == ValueKind::buffer)
      return state_tensor(st_, val.name).clone();
    if (val.kind == ValueKind::constant) {
      Tensor t = Tensor::empty(val.shape, val.dtype);
      initialize(t, val.init, val.name, 0);
      return t;
    }
    QF_CHECK(prod_[v] >= 0, "weight-side value '", val.name, "' has no producer");
    const Node& n = g_.nodes()[prod_[v]];
    Tensor x = host_value(n.inputs[0]);
    float* p = x.data<float>();
    if (n.op == "pact") {
      const float a = host_value(n.inputs[1]).data<float>()[0];
      for (int64_t i = 0; i < x.numel(); ++i) p[i] = std::min(std::max(p[i], -a), a);
      return x;
    }
    if (n.op == "bn_fold_weight") {
      const std::vector<float> k = fold_factors(n.inputs[1], n.inputs[2], n.attrs);
      const int64_t inner = x.numel() / x.dim(0);
      for (int64_t i = 0; i < x.numel(); ++i) p[i] *= k[i / inner];
      return x;
    }
    throw_input_error("convert: cannot evaluate '", n.name, "' (", n.op, ") on weights");
  }

  std::vector<float> fold_factors(int gamma, int var, const Attrs& a) const {
    const Tensor g = host_value(gamma), v = host_value(var);
    const double eps = a.get_float("epsilon", 1e-5);
    std::vector<float> k(g.numel());
    for (int64_t c = 0; c < g.numel(); ++c)
      k[c] =
          static_cast<float>(bn_fold_factor<double>(g.data<float>()[c], v.data<float>()[c], eps));
    return k;
  }

  // Threshold(s) of a quantizer node as the evaluation forward uses them.
  std::vector<float> thresholds(const Node& n, const Tensor* w) const {
    if (n.op == "fake_channel_wise_quantize_dequantize_abs_max") {
      ChannelGeom cg = channel_geom(n, w->shape());
      std::vector<float> t(cg.channels, 0.f);
      for (int64_t o = 0; o < cg.outer; ++o)
        for (int64_t c = 0; c < cg.channels; ++c)
          for (int64_t i = 0; i < cg.inner; ++i)
            t[c] =
                std::max(t[c], std::fabs(w->data<float>()[(o * cg.channels + c) * cg.inner + i]));
      return t;
    }
    if (n.op == "fake_quantize_dequantize_abs_max" && w) {
      float m = 0;
      for (int64_t i = 0; i < w->numel(); ++i) m = std::max(m, std::fabs(w->data<float>()[i]));
      return {m};
    }
    return {state_tensor(st_, g_.value(n.inputs[1]).name).data<float>()[0]};
  }
  float threshold(const Node& n) const { return thresholds(n, nullptr).at(0); }

  void collect_activation_scales() {
    for (const Node& n : g_.nodes()) {
      if (!is_fake_quant_op(n.op) || n.attrs.get_int("is_weight", 0)) continue;
      if (n.attrs.get_int("bits", 8) != 8)
        throw_input_error("convert: node '", n.name, "' quantizes with ",
                          n.attrs.get_int("bits", 8),
                          " bits; int8 export needs quant.activation_bits = 8");
      int x = n.inputs[0];
      if (prod_[x] >= 0 && g_.nodes()[prod_[x]].op == "pact") x = g_.nodes()[prod_[x]].inputs[0];
      if (!end_scale_.count(x) || n.op != "moving_average_abs_max_scale")
        end_scale_[x] = threshold(n) / static_cast<float>(bnt(n));
    }
  }

  // x -> quantize_linear -> dequantize_linear (per tensor, int8, zero point 0).
  int emit_qdq(int x, float step, const std::string& base) {
    const int s = g_.add_constant(base + ".scale", scalar_f32(step));
    const int zp = g_.add_constant(base + ".zero_point", Tensor::zeros({}, DType::i8));
    const int q = g_.add_activation(base + ".quantized");
    const int dq = g_.add_activation(base + ".dequantized");
    out_.push_back(
        Node{"quantize_linear", g_.unique_node_name(base + ".quantize"), {x, s, zp}, {q}, {}});
    out_.push_back(
        Node{"dequantize_linear", g_.unique_node_name(base + ".dequantize"), {q, s, zp}, {dq}, {}});
    step_[dq] = step;
    return dq;
  }

  // A conv / linear node's weight on the integer grid of its weight quantizer.
  struct GridWeight {
    Tensor w;              // the float weight
    std::vector<float> T;  // thresholds: one, or one per output channel (axis 0)
    std::vector<float> q;  // integer levels, as floats
    int64_t C = 0, inner = 0;
    int64_t bnt = 0;
    bool per_channel = false;
    float threshold(int64_t i) const { return T[per_channel ? i / inner : 0]; }
  };
  GridWeight grid_weight(const Node& wq) const {
    GridWeight r;
    r.bnt = bnt(wq);
    if (wq.attrs.get_int("bits", 8) > 8)
      throw_input_error("convert: node '", wq.name, "' quantizes weights with ",
                        wq.attrs.get_int("bits", 8),
                        " bits; int8 export needs quant.weight_bits <= 8");
    r.w = host_value(wq.inputs[0]);
    r.T = thresholds(wq, &r.w);
    r.C = r.w.dim(0);
    r.inner = r.w.numel() / r.C;
    r.per_channel = r.T.size() > 1;
    QF_CHECK(!r.per_channel || static_cast<int64_t>(r.T.size()) == r.C,
             "channel-wise weight scales of '", wq.name, "' are not along axis 0");
    r.q.resize(r.w.numel());
    for (int64_t i = 0; i < r.w.numel(); ++i) {
      const float s = r.threshold(i);
      const float k = static_cast<float>(r.bnt) * inverse_threshold(s);
      r.q[i] = fake_quant_level(r.w.data<float>()[i], s, k);
    }
    return r;
  }

  // The unit's BatchNorm folded into the conv: fused (conv -> bn_unscale -> batch_norm) always,
  // plain (conv -> batch_norm) in the int8 form.
  struct Fold {
    std::vector<float> bias;  // the conv's bias after folding (its own bias, or zeros, before)
    std::vector<float> mult;  // per-channel factor moved into the weight scale (int8, plain fold)
    std::string beta_name;    // the folded BatchNorm's beta, for ConvertReport::bias_rounding
    bool folded = false;
    int unit_out = -1;  // the value the folded conv now computes
  };
  Fold fold_batch_norm(const Node& c, const ConvUnit& unit, int64_t C) {
    const auto& nodes = g_.nodes();
    Fold f;
    f.bias.assign(C, 0.f);
    if (c.inputs.size() > 2 && c.inputs[2] >= 0) {
      const Tensor b = host_value(c.inputs[2]);
      std::copy(b.data<float>(), b.data<float>() + C, f.bias.begin());
    }
    const int u = unit.bn_unscale, bn = unit.batch_norm;
    if (u >= 0 && bn < 0)
      throw_input_error("convert: '", nodes[u].name, "' is not followed by its batch_norm");
    f.unit_out = unit.bn_end;
    if (bn < 0) return f;
    const Node& b = nodes[bn];
    f.beta_name = g_.value(b.inputs[2]).name;
    const std::vector<float> k = fold_factors(b.inputs[1], b.inputs[4], b.attrs);
    const Tensor beta = host_value(b.inputs[2]), mean = host_value(b.inputs[3]);
    for (int64_t ch = 0; ch < C; ++ch) {
      const float m = mean.data<float>()[ch], be = beta.data<float>()[ch];
      f.bias[ch] = u >= 0 ? be - k[ch] * m + f.bias[ch] * k[ch] : (f.bias[ch] - m) * k[ch] + be;
    }
    if (u < 0) f.mult = k;
    if (u >= 0) skip_.insert(u);
    skip_.insert(bn);
    f.folded = true;
    ++rep_.folded_bn;
    return f;
  }

  // The trained integers q (negated on channels whose factor in `mult` is negative) as an int8
  // constant -> dequantize_linear (axis 0) with step T |mult| / bnt per output channel, or one step
  // per tensor when neither varies; c's weight input becomes its output. Returns the steps. Both
  // forms store weights so (quant/convert.h says why the float-grid form does too).
  std::vector<float> emit_weight(Node& c, const GridWeight& gw, const std::vector<float>& mult) {
    const int64_t C = gw.C;
    const bool pc = gw.per_channel || !mult.empty();
    std::vector<float> step(pc ? C : 1);
    for (int64_t ch = 0; ch < static_cast<int64_t>(step.size()); ++ch) {
      const float m = mult.empty() ? 1.f : mult[ch];
      step[ch] = gw.T[gw.per_channel ? ch : 0] * std::fabs(m) / static_cast<float>(gw.bnt);
    }
    Tensor qi = Tensor::empty(gw.w.shape(), DType::i8);
    for (int64_t i = 0; i < gw.w.numel(); ++i) {
      const float m = mult.empty() ? 1.f : mult[i / gw.inner];
      qi.data<int8_t>()[i] = static_cast<int8_t>(m < 0 ? -gw.q[i] : gw.q[i]);
    }
    const Shape ss = pc ? Shape{C} : Shape{};
    c.inputs[1] = emit_dequantize(c.name + ".weight", qi, Tensor::from(ss, step),
                                  Tensor::zeros(ss, DType::i8));
    return step;
  }

  // Float-grid form: the weight as int8 -> dequantize_linear, the (folded) bias float.
  void emit_float_grid(Node& c, const GridWeight& gw, const Fold& f, bool has_bias) {
    emit_weight(c, gw, f.mult);
    if (f.folded || has_bias) {
      if (c.inputs.size() < 3) c.inputs.resize(3);
      c.inputs[2] = g_.add_constant(c.name + ".weight.folded_bias", Tensor::from({gw.C}, f.bias));
    }
  }

  // Int8 form: the weight as in the float-grid form (per output channel when the thresholds or the
  // folded factors are), and the bias as int32 on the accumulator's grid.
  void emit_int8(Node& c, const GridWeight& gw, const Fold& f, bool has_bias) {
    const std::string wname = c.name + ".weight";
    const int64_t C = gw.C;
    const bool pc = gw.per_channel || !f.mult.empty();
    const std::vector<float> step = emit_weight(c, gw, f.mult);
    if (!f.folded && !has_bias) return;
    if (c.inputs.size() < 3) c.inputs.resize(3);
    auto sx = step_.find(c.inputs[0]);
    if (sx == step_.end()) {  // the input has no known step: the bias stays float
      c.inputs[2] = g_.add_constant(wname + ".folded_bias", Tensor::from({C}, f.bias));
      return;
    }
    // int32 bias with scale s_x * s_w (what int8 kernels add)
    Tensor bq = Tensor::empty({C}, DType::i32);
    std::vector<float> bs(C);
    for (int64_t ch = 0; ch < C; ++ch) {
      bs[ch] = sx->second * step[pc ? ch : 0];
      bq.data<int32_t>()[ch] = static_cast<int32_t>(std::nearbyint(f.bias[ch] / bs[ch]));
    }
    if (f.folded) {
      std::vector<float>& r = rep_.bias_rounding[f.beta_name];
      r.resize(C);
      for (int64_t ch = 0; ch < C; ++ch)
        r[ch] = static_cast<float>(bq.data<int32_t>()[ch]) * bs[ch] - f.bias[ch];
    }
    c.inputs[2] = emit_dequantize(c.name + ".bias", bq, Tensor::from({C}, bs),
                                  Tensor::zeros({C}, DType::i32));
  }

  // <base>.int8|int32 constant -> dequantize_linear (axis 0) -> <base>.dequantized; returns it.
  int emit_dequantize(const std::string& base, Tensor q, Tensor scale, Tensor zero_point) {
    const char* suffix = q.dtype() == DType::i32 ? ".int32" : ".int8";
    const int qv = g_.add_constant(base + suffix, std::move(q));
    const int sv = g_.add_constant(base + ".scale", std::move(scale));
    const int zv = g_.add_constant(base + ".zero_point", std::move(zero_point));
    const int dq = g_.add_activation(base + ".dequantized");
    out_.push_back(Node{"dequantize_linear",
                        g_.unique_node_name(base + ".dequantize"),
                        {qv, sv, zv},
                        {dq},
                        {{"axis", int64_t{0}}}});
    return dq;
  }

  // A quantized conv / linear: its weight (and folded BatchNorm) in the form's representation,
  // and in the int8 form a quantize/dequantize pair on a conv's output with the scale of the value
  // ending its unit.
  void emit_weighted(int idx) {
    Node c = g_.nodes()[idx];
    const GridWeight gw = grid_weight(g_.nodes()[weight_quantizer(c)]);
    const bool int8 = form_ == ConvertForm::int8;
    const ConvUnit unit = conv_unit(g_, cons_, idx, int8 && c.op == "conv2d");
    const Fold f = fold_batch_norm(c, unit, gw.C);
    const bool has_bias = c.inputs.size() > 2 && c.inputs[2] >= 0;
    ++rep_.weights;
    c.inputs[0] = resolve(c.inputs[0]);
    if (int8)
      emit_int8(c, gw, f, has_bias);
    else
      emit_float_grid(c, gw, f, has_bias);
    const int conv_out = c.outputs[0];
    if (f.folded) repl_[f.unit_out] = conv_out;
    out_.push_back(c);
    if (!int8 || c.op != "conv2d") return;
    auto it = end_scale_.find(unit.end);
    if (it == end_scale_.end()) {
      ++rep_.float_outputs;
      return;
    }
    repl_[conv_out] = emit_qdq(conv_out, it->second, c.name + ".out_quant");
    ++rep_.output_pairs;
  }

  Graph g_;
  const TensorMap& st_;
  ConvertForm form_;
  ConvertReport& rep_;
  std::vector<int> prod_;
  std::vector<std::vector<int>> cons_;
  std::map<int, int> repl_;         // value -> the value that replaces it
  std::map<int, float> end_scale_;  // float value -> ONNX step of the quantizer reading it
  std::map<int, float> step_;       // dequantized value -> its step
  std::set<int> skip_;              // nodes folded away
  std::vector<Node> out_;
};

}  // namespace

Graph convert(const Graph& qat, const TensorMap& state, ConvertForm form, ConvertReport* report) {
  ConvertReport local;
  return Converter(qat, state, form, report ? *report : local).run();
}

int align_folded_bias(const Graph& qat, TensorMap& state, double* max_shift) {
  ConvertReport rep;
  convert(qat, state, ConvertForm::int8, &rep);
  double biggest = 0;
  for (const auto& [name, shift] : rep.bias_rounding) {
    const Tensor& beta = state_tensor(state, name);
    std::vector<float> moved(beta.data<float>(), beta.data<float>() + beta.numel());
    QF_CHECK(moved.size() == shift.size(), "align_folded_bias: ", name, " has ", moved.size(),
             " channels, its conv ", shift.size());
    for (size_t ch = 0; ch < moved.size(); ++ch) {
      moved[ch] += shift[ch];
      biggest = std::max(biggest, static_cast<double>(std::fabs(shift[ch])));
    }
    state[name] = Tensor::from(beta.shape(), moved);
  }
  if (max_shift) *max_shift = biggest;
  return static_cast<int>(rep.bias_rounding.size());
}

Graph inference_graph(const Graph& g, const TensorMap& state) {
  Graph r = prune_to_logits(g);
  for (const Node& n : r.nodes())
    if (is_fake_quant_op(n.op) || n.op == "pact")
      throw_input_error("inference_graph: node '", n.name, "' is ", n.op,
                        "; convert a quant-aware graph with convert()");
  freeze_values(r, state);
  r.validate();
  return r;
}

}  // namespace qf
