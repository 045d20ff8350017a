// convert pass (contract in quant/convert.h).
#include "quant/convert.h"

#include <cmath>
#include <map>
#include <set>

#include "nn/param_store.h"
#include "quant/ops/fake_quant.h"
#include "quant/quant_aware.h"

namespace qf {
namespace {

// The nodes computing g.outputs()[0], with only the values they use (no loss, no labels).
Graph prune_to_logits(const Graph& g) {
  QF_CHECK(!g.outputs().empty(), "graph without outputs");
  const int out = g.outputs()[0];
  const auto prod = g.producers();
  std::vector<bool> need_node(g.nodes().size(), false), used(g.num_values(), false);
  used[out] = true;
  for (size_t i = g.nodes().size(); i-- > 0;) {
    const Node& n = g.nodes()[i];
    bool any = false;
    for (int o : n.outputs) any = any || used[o];
    if (!any) continue;
    need_node[i] = true;
    for (int v : n.inputs)
      if (v >= 0) used[v] = true;
    for (int o : n.outputs) used[o] = true;
  }
  Graph r;
  std::vector<int> map(g.num_values(), -1);
  for (int v = 0; v < g.num_values(); ++v)
    if (used[v]) map[v] = r.add_value(g.value(v));
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    if (!need_node[i]) continue;
    Node n = g.nodes()[i];
    for (int& v : n.inputs)
      if (v >= 0) v = map[v];
    for (int& v : n.outputs) v = map[v];
    r.add_node(std::move(n));
  }
  r.mark_output(map[out]);
  return r;
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
    const int logits = resolve(g_.outputs()[0]);
    Graph r;
    std::vector<int> map(g_.num_values(), -1);
    std::vector<bool> used(g_.num_values(), false);
    used[logits] = true;
    for (const Node& n : out_) {
      for (int v : n.inputs)
        if (v >= 0) used[v] = true;
      for (int v : n.outputs) used[v] = true;
    }
    for (int v = 0; v < g_.num_values(); ++v)
      if (used[v]) map[v] = r.add_value(g_.value(v));
    for (Node n : out_) {
      for (int& v : n.inputs)
        if (v >= 0) v = map[v];
      for (int& v : n.outputs) v = map[v];
      r.add_node(std::move(n));
    }
    r.mark_output(map[logits]);
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
      k[c] = static_cast<float>(g.data<float>()[c] / std::sqrt(v.data<float>()[c] + eps));
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

  int add_const(const std::string& base, Tensor t) {
    Value v;
    v.name = g_.unique_value_name(base);
    v.kind = ValueKind::constant;
    v.dtype = t.dtype();
    v.shape = t.shape();
    v.init = Init::from(std::move(t));
    return g_.add_value(std::move(v));
  }
  int add_act(const std::string& base) {
    Value v;
    v.name = g_.unique_value_name(base);
    return g_.add_value(std::move(v));
  }

  // x -> quantize_linear -> dequantize_linear (per tensor, int8, zero point 0).
  int emit_qdq(int x, float step, const std::string& base) {
    const int s = add_const(base + ".scale", scalar_f32(step));
    const int zp = add_const(base + ".zero_point", Tensor::zeros({}, DType::i8));
    const int q = add_act(base + ".quantized");
    const int dq = add_act(base + ".dequantized");
    out_.push_back(
        Node{"quantize_linear", g_.unique_node_name(base + ".quantize"), {x, s, zp}, {q}, {}});
    out_.push_back(
        Node{"dequantize_linear", g_.unique_node_name(base + ".dequantize"), {q, s, zp}, {dq}, {}});
    step_[dq] = step;
    return dq;
  }

  // The trained integers q (negated on channels whose factor in `mult` is negative) as an int8
  // constant -> dequantize_linear (axis 0) with step T |mult| / bnt per output channel, or one step
  // per tensor when neither varies; c's weight input becomes its output. Returns the steps.
  std::vector<float> emit_weight(Node& c, const std::string& wname, const Tensor& w,
                                 const std::vector<float>& q, const std::vector<float>& T,
                                 int64_t wb, const std::vector<float>& mult) {
    const int64_t C = w.dim(0), inner = w.numel() / C;
    const bool per_channel = T.size() > 1, pc = per_channel || !mult.empty();
    std::vector<float> step(pc ? C : 1);
    for (int64_t ch = 0; ch < static_cast<int64_t>(step.size()); ++ch) {
      const float m = mult.empty() ? 1.f : mult[ch];
      step[ch] = T[per_channel ? ch : 0] * std::fabs(m) / static_cast<float>(wb);
    }
    Tensor qi = Tensor::empty(w.shape(), DType::i8);
    for (int64_t i = 0; i < w.numel(); ++i) {
      const float m = mult.empty() ? 1.f : mult[i / inner];
      qi.data<int8_t>()[i] = static_cast<int8_t>(m < 0 ? -q[i] : q[i]);
    }
    const Shape ss = pc ? Shape{C} : Shape{};
    const int sq = add_const(wname + ".int8", qi);
    const int ssc = add_const(wname + ".scale", Tensor::from(ss, step));
    const int szp = add_const(wname + ".zero_point", Tensor::zeros(ss, DType::i8));
    const int wdq = add_act(wname + ".dequantized");
    out_.push_back(Node{"dequantize_linear", g_.unique_node_name(wname + ".dequantize"),
                        {sq, ssc, szp}, {wdq}, {{"axis", int64_t{0}}}});
    c.inputs[1] = wdq;
    return step;
  }

  void emit_weighted(int idx) {
    Node c = g_.nodes()[idx];
    const Node& wq = g_.nodes()[weight_quantizer(c)];
    const int64_t wb = bnt(wq);
    if (wq.attrs.get_int("bits", 8) > 8)
      throw_input_error("convert: node '", wq.name, "' quantizes weights with ",
                        wq.attrs.get_int("bits", 8),
                        " bits; int8 export needs quant.weight_bits <= 8");
    const Tensor w = host_value(wq.inputs[0]);
    const std::vector<float> T = thresholds(wq, &w);
    const int64_t C = w.dim(0), inner = w.numel() / C;
    const bool per_channel = T.size() > 1;
    QF_CHECK(!per_channel || static_cast<int64_t>(T.size()) == C, "channel-wise weight scales of '",
             wq.name, "' are not along axis 0");
    std::vector<float> q(w.numel());
    for (int64_t i = 0; i < w.numel(); ++i) {
      const float s = T[per_channel ? i / inner : 0];
      const float k = static_cast<float>(wb) * inverse_threshold(s);
      const float x = w.data<float>()[i];
      q[i] = round_half_away(k * std::min(std::max(x, -s), s));
    }
    const std::string wname = c.name + ".weight";
    std::vector<float> bias(C, 0.f);
    const bool has_bias = c.inputs.size() > 2 && c.inputs[2] >= 0;
    if (has_bias) {
      const Tensor b = host_value(c.inputs[2]);
      std::copy(b.data<float>(), b.data<float>() + C, bias.begin());
    }

    // BatchNorm folding: fused (conv -> bn_unscale -> batch_norm) always; plain (conv ->
    // batch_norm) in the int8 form.
    std::vector<float> mult;  // per-channel factor moved into the weight scale (int8, plain fold)
    int unit_out = c.outputs[0];
    bool folded = false;
    const auto& nodes = g_.nodes();
    auto single = [&](int v, const char* op) {
      return cons_[v].size() == 1 && nodes[cons_[v][0]].op == op ? cons_[v][0] : -1;
    };
    const int u = single(c.outputs[0], "bn_unscale");
    const int bn = u >= 0 ? single(nodes[u].outputs[0], "batch_norm")
                          : (form_ == ConvertForm::int8 && c.op == "conv2d"
                                 ? single(c.outputs[0], "batch_norm")
                                 : -1);
    if (u >= 0 && bn < 0)
      throw_input_error("convert: '", nodes[u].name, "' is not followed by its batch_norm");
    std::string beta_name;  // the folded BatchNorm's beta, for ConvertReport::bias_rounding
    if (bn >= 0) {
      const Node& b = nodes[bn];
      beta_name = g_.value(b.inputs[2]).name;
      const std::vector<float> k = fold_factors(b.inputs[1], b.inputs[4], b.attrs);
      const Tensor beta = host_value(b.inputs[2]), mean = host_value(b.inputs[3]);
      for (int64_t ch = 0; ch < C; ++ch) {
        const float m = mean.data<float>()[ch], be = beta.data<float>()[ch];
        bias[ch] = u >= 0 ? be - k[ch] * m + bias[ch] * k[ch] : (bias[ch] - m) * k[ch] + be;
      }
      if (u < 0) mult = k;
      if (u >= 0) skip_.insert(u);
      skip_.insert(bn);
      unit_out = b.outputs[0];
      folded = true;
      ++rep_.folded_bn;
    }
    ++rep_.weights;

    c.inputs[0] = resolve(c.inputs[0]);
    const bool pc = per_channel || !mult.empty();
    const std::vector<float> step = emit_weight(c, wname, w, q, T, wb, mult);
    if (form_ == ConvertForm::float_grid) {
      if (folded || has_bias) {
        if (c.inputs.size() < 3) c.inputs.resize(3);
        c.inputs[2] = add_const(wname + ".folded_bias", Tensor::from({C}, bias));
      }
    } else {
      if (folded || has_bias) {
        if (c.inputs.size() < 3) c.inputs.resize(3);
        auto sx = step_.find(c.inputs[0]);
        if (sx != step_.end()) {  // int32 bias with scale s_x * s_w (what int8 kernels add)
          Tensor bq = Tensor::empty({C}, DType::i32);
          std::vector<float> bs(C);
          for (int64_t ch = 0; ch < C; ++ch) {
            bs[ch] = sx->second * step[pc ? ch : 0];
            bq.data<int32_t>()[ch] = static_cast<int32_t>(std::nearbyint(bias[ch] / bs[ch]));
          }
          if (folded) {
            std::vector<float>& r = rep_.bias_rounding[beta_name];
            r.resize(C);
            for (int64_t ch = 0; ch < C; ++ch)
              r[ch] = static_cast<float>(bq.data<int32_t>()[ch]) * bs[ch] - bias[ch];
          }
          const std::string bname = c.name + ".bias";
          const int bqv = add_const(bname + ".int32", bq);
          const int bsv = add_const(bname + ".scale", Tensor::from({C}, bs));
          const int bzv = add_const(bname + ".zero_point", Tensor::zeros({C}, DType::i32));
          const int bdq = add_act(bname + ".dequantized");
          out_.push_back(Node{"dequantize_linear",
                              g_.unique_node_name(bname + ".dequantize"),
                              {bqv, bsv, bzv},
                              {bdq},
                              {{"axis", int64_t{0}}}});
          c.inputs[2] = bdq;
        } else {
          c.inputs[2] = add_const(wname + ".folded_bias", Tensor::from({C}, bias));
        }
      }
    }
    const int conv_out = c.outputs[0];
    if (folded) repl_[unit_out] = conv_out;
    out_.push_back(c);

    // Output pair: the scale of the value ending the unit (after an optional relu / relu6).
    if (form_ != ConvertForm::int8 || c.op != "conv2d") return;
    int end = unit_out;
    if (cons_[end].size() == 1) {
      const Node& a = nodes[cons_[end][0]];
      if (a.op == "relu" || a.op == "relu6") end = a.outputs[0];
    }
    auto it = end_scale_.find(end);
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
