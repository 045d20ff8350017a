// The int8 lowering (contract in quant/int8_lowering.h).
#include "quant/int8_lowering.h"

#include <cmath>
#include <cstring>
#include <set>

namespace qf {
namespace {

// Host data of a constant or parameter value (its initialiser's tensor), or null.
const Tensor* host_data(const Graph& g, int v) {
  if (v < 0) return nullptr;
  const Value& val = g.value(v);
  if (val.kind != ValueKind::constant && val.kind != ValueKind::param) return nullptr;
  if (val.init.kind != Init::Kind::data || !val.init.data.defined()) return nullptr;
  return &val.init.data;
}

double element(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return t.data<float>()[i];
    case DType::f64: return t.data<double>()[i];
    case DType::i8: return t.data<int8_t>()[i];
    case DType::u8: return t.data<uint8_t>()[i];
    case DType::i16: return t.data<int16_t>()[i];
    case DType::i32: return t.data<int32_t>()[i];
    case DType::i64: return static_cast<double>(t.data<int64_t>()[i]);
  }
  return 0;
}

// Scales of a Q or DQ node when its zero point is absent or all zero (symmetric): one value per
// tensor, or per axis. `axis_out` receives the normalised axis for per-axis scales (-1 per tensor).
bool symmetric_scales(const Graph& g, const Node& n, int rank, std::vector<float>& scales,
                      int* axis_out) {
  const Tensor* s = host_data(g, n.inputs[1]);
  if (!s || s->dtype() != DType::f32) return false;
  if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
    const Tensor* zp = host_data(g, n.inputs[2]);
    if (!zp) return false;
    for (int64_t i = 0; i < zp->numel(); ++i)
      if (element(*zp, i) != 0) return false;
  }
  scales.assign(s->data<float>(), s->data<float>() + s->numel());
  int axis = -1;
  if (s->numel() > 1) {
    int64_t a = n.attrs.get_int("axis", 1);
    axis = static_cast<int>(a < 0 ? a + rank : a);
  }
  if (axis_out) *axis_out = axis;
  return true;
}

// Several QuantizeLinear nodes of one value with equal scales and zero points (the pair per
// reading node that ONNX Runtime needs, quant/ptq.h) compute the same tensor: the later ones are
// replaced by the first, so a convolution's output stage sees its single quantizer and the value is
// quantized once. Returns the number of nodes merged away.
int merge_equal_quantizers(Graph& g) {
  auto same = [&](int a, int b) {
    if (a < 0 || b < 0) return a == b;
    const Tensor* x = host_data(g, a);
    const Tensor* y = host_data(g, b);
    if (!x || !y || x->dtype() != y->dtype() || x->shape() != y->shape()) return a == b;
    return std::memcmp(x->raw(), y->raw(), x->nbytes()) == 0;
  };
  std::vector<int> first_of;  // node indices of the quantizers kept so far
  std::vector<int> merged;
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    if (n.op != "quantize_linear") continue;
    bool dup = false;
    for (int k : first_of) {
      const Node& m = g.nodes()[k];
      const int zn = n.inputs.size() > 2 ? n.inputs[2] : -1, zm = m.inputs.size() > 2 ? m.inputs[2] : -1;
      if (m.inputs[0] != n.inputs[0] || !same(m.inputs[1], n.inputs[1]) || !same(zm, zn) ||
          m.attrs.get_int("axis", 1) != n.attrs.get_int("axis", 1))
        continue;
      g.replace_uses(n.outputs[0], m.outputs[0]);
      merged.push_back(static_cast<int>(i));
      dup = true;
      break;
    }
    if (!dup) first_of.push_back(static_cast<int>(i));
  }
  g.remove_nodes(merged);
  return static_cast<int>(merged.size());
}

struct Rewriter {
  Graph& g;
  Int8LoweringReport report;
  std::vector<int> producer;
  std::vector<std::vector<int>> consumers;
  std::set<int> removed;

  explicit Rewriter(Graph& graph) : g(graph) {
    producer = g.producers();
    consumers = g.consumers();
  }

  // The element type of a quantized value: a quantize_linear's zero point type (uint8 without
  // one), else the value's own type (constants, graph inputs).
  DType quantized_type(int v) const {
    const Node* p = producer_node(v);
    if (p && p->op == "quantize_linear")
      return p->inputs.size() > 2 && p->inputs[2] >= 0 ? g.value(p->inputs[2]).dtype : DType::u8;
    return g.value(v).dtype;
  }
  const Node* producer_node(int v) const {
    return v >= 0 && producer[v] >= 0 ? &g.nodes()[producer[v]] : nullptr;
  }
  bool is_output(int v) const {
    for (int o : g.outputs())
      if (o == v) return true;
    return false;
  }
  // The single consumer of v (index), or -1 when v has several or is a graph output.
  int only_consumer(int v) const {
    if (is_output(v) || consumers[v].size() != 1) return -1;
    int count = 0;
    for (int i : g.nodes()[consumers[v][0]].inputs) count += i == v;
    return count == 1 ? consumers[v][0] : -1;
  }

  void give_up(const Node& n, const std::string& why) {
    ++report.float_ops;
    if (report.why_float.empty()) report.why_float = "node '" + n.name + "': " + why;
  }

  // Activation output stage from a Relu / Relu6 / Clip node, in units of `unit` (the scale its
  // input values are expressed in). Returns false for other ops.
  static bool activation(const Node& a, float unit, Attrs& attrs) {
    if (a.op == "relu") {
      attrs.set("act", std::string("relu"));
      return true;
    }
    double lo, hi;
    if (a.op == "relu6") {
      lo = 0;
      hi = 6;
    } else if (a.op == "clip") {
      lo = a.attrs.get_float("min", -INFINITY);
      hi = a.attrs.get_float("max", INFINITY);
    } else {
      return false;
    }
    attrs.set("act", std::string("clip"));
    attrs.set("act_min", lo / unit);
    attrs.set("act_max", hi / unit);
    return true;
  }

  bool per_tensor_q(const Node* q, float& scale, DType& type) {
    if (!q || q->op != "quantize_linear") return false;
    std::vector<float> s;
    int axis;
    if (!symmetric_scales(g, *q, 4, s, &axis) || s.size() != 1) return false;
    scale = s[0];
    type = q->inputs.size() > 2 && q->inputs[2] >= 0 ? g.value(q->inputs[2]).dtype : DType::u8;
    return type == DType::i8 || type == DType::u8;
  }

  // The int8 operands of a float conv / linear reading DequantizeLinear outputs.
  struct Operands {
    const Node* dx = nullptr;  // the input's and the weight's DequantizeLinear
    const Node* dw = nullptr;
    float sx = 1;           // the input's scale
    std::vector<float> sw;  // the weight's, one or per output channel
    int64_t K = 0;
    float swk(int64_t k) const { return sw.size() == 1 ? sw[0] : sw[k]; }
  };
  // False when the node stays float (giving up says why, where it is a near miss).
  bool int8_operands(const Node& n, Operands& o) {
    o.dx = producer_node(n.inputs[0]);
    o.dw = producer_node(n.inputs[1]);
    if (!o.dx || o.dx->op != "dequantize_linear") return false;  // a float op
    std::vector<float> sx_v;
    int axis = -1;
    const DType xt = quantized_type(o.dx->inputs[0]);
    if (!symmetric_scales(g, *o.dx, 4, sx_v, &axis) || sx_v.size() != 1 ||
        (xt != DType::i8 && xt != DType::u8)) {
      give_up(n, "the input is not symmetric per-tensor int8 / uint8");
      return false;
    }
    o.sx = sx_v[0];
    const Tensor* w =
        o.dw && o.dw->op == "dequantize_linear" ? host_data(g, o.dw->inputs[0]) : nullptr;
    if (!w || w->dtype() != DType::i8) {
      give_up(n, "the weight is not a DequantizeLinear of an int8 constant");
      return false;
    }
    o.K = w->dim(0);
    if (!symmetric_scales(g, *o.dw, w->rank(), o.sw, &axis) ||
        (o.sw.size() != 1 && (static_cast<int64_t>(o.sw.size()) != o.K || axis != 0))) {
      give_up(n, "the weight scales are not symmetric per tensor or per output channel");
      return false;
    }
    return true;
  }

  // The bias as a float constant in accumulator units (s_x s_w): -1 without a bias, -2 (after
  // giving up) when it is neither a float constant nor a DequantizeLinear of int32.
  int bias_in_accumulator_units(const Node& n, const Operands& o) {
    if (n.inputs.size() <= 2 || n.inputs[2] < 0) return -1;
    std::vector<float> acc(o.K);
    const int b = n.inputs[2];
    const Node* db = producer_node(b);
    std::vector<float> sb;
    if (const Tensor* bf = host_data(g, b); bf && bf->dtype() == DType::f32) {
      for (int64_t k = 0; k < o.K; ++k)
        acc[k] = static_cast<float>(bf->data<float>()[k] / (static_cast<double>(o.sx) * o.swk(k)));
    } else if (const Tensor* bq =
                   db && db->op == "dequantize_linear" ? host_data(g, db->inputs[0]) : nullptr;
               bq && bq->dtype() == DType::i32 && symmetric_scales(g, *db, 1, sb, nullptr)) {
      for (int64_t k = 0; k < o.K; ++k) {
        const double s = sb.size() == 1 ? sb[0] : sb[k],
                     want = static_cast<double>(o.sx) * o.swk(k);
        const double q = bq->data<int32_t>()[k];
        // The usual case: the bias scale is s_x s_w, and the int32 values are the accumulator's.
        acc[k] = std::fabs(s - want) <= 1e-6 * want ? static_cast<float>(q)
                                                    : static_cast<float>(q * s / want);
      }
    } else {
      give_up(n, "the bias is neither a float constant nor a DequantizeLinear of int32");
      return -2;
    }
    return g.add_constant(n.name + ".bias_acc", Tensor::from({o.K}, acc));
  }

  // The output stage fused into the int8 op: what follows the op's output (a QuantizeLinear,
  // possibly with an activation and a requantization after it, or an activation then a
  // QuantizeLinear) sets the stage's attributes in `a`; nodes it absorbs go to `dead`.
  struct OutputStage {
    float sy = 1;
    DType yt = DType::f32;
    int out = -1;
    std::vector<int> dead;
  };
  OutputStage output_stage(const Node& n, Attrs& a) {
    OutputStage st;
    st.out = n.outputs[0];
    const int c1 = only_consumer(st.out);
    const Node* first = c1 >= 0 ? &g.nodes()[c1] : nullptr;
    float s1;
    DType t1;
    if (per_tensor_q(first, s1, t1)) {
      st.sy = s1;
      st.yt = t1;
      st.out = first->outputs[0];
      st.dead.push_back(c1);
      // ... -> Q(s1) -> DQ -> act -> Q(s2): keep the rounding at s1, apply act, requantize to s2.
      const int c2 = only_consumer(st.out);
      const Node* dq = c2 >= 0 ? &g.nodes()[c2] : nullptr;
      std::vector<float> sd;
      const int c3 = dq && dq->op == "dequantize_linear" && symmetric_scales(g, *dq, 4, sd, nullptr) &&
                             sd.size() == 1 && sd[0] == s1
                         ? only_consumer(dq->outputs[0])
                         : -1;
      const int c4 = c3 >= 0 ? only_consumer(g.nodes()[c3].outputs[0]) : -1;
      float s2;
      DType t2;
      Attrs act;
      if (c4 >= 0 && activation(g.nodes()[c3], s1, act) && per_tensor_q(&g.nodes()[c4], s2, t2)) {
        for (const auto& [k, v] : act.items()) a.set(k, v);
        a.set("round_clip", int64_t{1});
        a.set("qmin", t1 == DType::u8 ? 0.0 : -128.0);
        a.set("qmax", t1 == DType::u8 ? 255.0 : 127.0);
        a.set("post_scale", static_cast<double>(s1 / s2));
        st.yt = t2;
        st.out = g.nodes()[c4].outputs[0];
        st.dead.insert(st.dead.end(), {c2, c3, c4});
      }
      ++report.fused_outputs;
    } else if (first) {
      // ... -> act -> Q(s2)
      Attrs act;
      const int c2 = only_consumer(first->outputs[0]);
      float s2;
      DType t2;
      if (c2 >= 0 && per_tensor_q(&g.nodes()[c2], s2, t2) && activation(*first, s2, act)) {
        for (const auto& [k, v] : act.items()) a.set(k, v);
        st.sy = s2;
        st.yt = t2;
        st.out = g.nodes()[c2].outputs[0];
        st.dead.insert(st.dead.end(), {c1, c2});
        ++report.fused_outputs;
      }
    }
    return st;
  }

  void lower(int idx) {
    const Node n = g.nodes()[idx];
    Operands o;
    if (!int8_operands(n, o)) return;
    const int bias = bias_in_accumulator_units(n, o);
    if (bias == -2) return;
    Attrs a = n.attrs;
    const OutputStage st = output_stage(n, a);
    std::vector<double> scales;
    for (int64_t k = 0; k < (o.sw.size() == 1 ? 1 : o.K); ++k)
      scales.push_back(static_cast<double>(o.sx) * o.swk(k) / st.sy);
    a.set("scales", scales);
    a.set("out_dtype", std::string(st.yt == DType::f32 ? "f32" : st.yt == DType::u8 ? "u8" : "i8"));

    Node q;
    q.op = n.op == "conv2d" ? "qconv2d" : "qlinear";
    q.name = n.name;
    q.inputs = {o.dx->inputs[0], o.dw->inputs[0]};
    if (bias >= 0) q.inputs.push_back(bias);
    q.outputs = {st.out};
    q.attrs = std::move(a);
    g.nodes()[idx] = std::move(q);
    removed.insert(st.dead.begin(), st.dead.end());
    ++report.int8_ops;
  }

  // qconv2d / qlinear outputs that are non-negative by construction and read only by consumers
  // that take uint8 are stored as uint8 (oneDNN's fastest int8 convolution input).
  void prefer_uint8() {
    for (Node& n : g.nodes()) {
      if ((n.op != "qconv2d" && n.op != "qlinear") || n.attrs.get_string("out_dtype", "") != "i8")
        continue;
      const std::string act = n.attrs.get_string("act", "none");
      if (act == "none" || (act == "clip" && n.attrs.get_float("act_min", -1) < 0)) continue;
      const int y = n.outputs[0];
      if (is_output(y)) continue;
      bool ok = true;
      for (int c : consumers[y]) {
        if (removed.count(c)) continue;
        const Node& u = g.nodes()[c];
        ok = ok && u.inputs[0] == y &&
             ((u.op == "qconv2d" || u.op == "qlinear") || u.op == "dequantize_linear");
      }
      if (!ok) continue;
      n.attrs.set("out_dtype", std::string("u8"));
      n.attrs.set("out_max", 127.0);
      g.value(y).dtype = DType::u8;
      for (int c : consumers[y]) {
        Node& u = g.nodes()[c];
        if (u.op == "dequantize_linear" && u.inputs.size() > 2) u.inputs.resize(2);  // zp was 0
      }
      ++report.uint8_outputs;
    }
  }

  // DequantizeLinear of a constant that is still needed: computed once, here.
  void fold_constant_dequantize() {
    for (size_t i = 0; i < g.nodes().size(); ++i) {
      if (removed.count(static_cast<int>(i))) continue;
      const Node& n = g.nodes()[i];
      if (n.op != "dequantize_linear") continue;
      const Tensor* q = host_data(g, n.inputs[0]);
      const Tensor* s = host_data(g, n.inputs[1]);
      if (!q || !s) continue;
      const Tensor* zp = n.inputs.size() > 2 ? host_data(g, n.inputs[2]) : nullptr;
      if (n.inputs.size() > 2 && n.inputs[2] >= 0 && !zp) continue;
      const int rank = q->rank();
      int64_t axis = n.attrs.get_int("axis", 1);
      if (axis < 0) axis += rank;
      int64_t inner = 1;
      if (s->numel() > 1)
        for (int d = static_cast<int>(axis) + 1; d < rank; ++d) inner *= q->dim(d);
      Tensor f = Tensor::empty(q->shape(), DType::f32);
      for (int64_t k = 0; k < q->numel(); ++k) {
        const int64_t a = s->numel() > 1 ? (k / inner) % s->numel() : 0;
        const double z = zp ? element(*zp, a) : 0;
        f.data<float>()[k] = static_cast<float>(element(*q, k) - z) * s->data<float>()[a];
      }
      const int id = g.add_constant(g.value(n.outputs[0]).name + ".folded", f);
      g.replace_uses(n.outputs[0], id);
      removed.insert(static_cast<int>(i));
      ++report.folded_dequantize;
    }
  }

  void remove_dead() {
    std::vector<int> drop(removed.begin(), removed.end());
    g.remove_nodes(drop);
    removed.clear();
    for (bool changed = true; changed;) {  // nodes whose outputs nobody reads
      changed = false;
      const auto cons = g.consumers();
      std::vector<int> dead;
      for (size_t i = 0; i < g.nodes().size(); ++i) {
        bool used = false;
        for (int o : g.nodes()[i].outputs) used = used || !cons[o].empty() || is_output(o);
        if (!used) dead.push_back(static_cast<int>(i));
      }
      if (!dead.empty()) {
        g.remove_nodes(dead);
        changed = true;
      }
    }
  }
};

}  // namespace

Int8LoweringReport lower_to_int8(Graph& g) {
  merge_equal_quantizers(g);
  Rewriter r(g);
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    if (r.removed.count(static_cast<int>(i))) continue;
    const std::string& op = g.nodes()[i].op;
    if (op == "conv2d" || op == "linear") r.lower(static_cast<int>(i));
  }
  r.consumers = g.consumers();
  r.prefer_uint8();
  r.fold_constant_dequantize();
  r.remove_dead();
  g.validate();
  return r.report;
}

}  // namespace qf
