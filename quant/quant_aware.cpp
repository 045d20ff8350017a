// quant_aware pass (contract in quant/quant_aware.h).
#include "quant/quant_aware.h"

#include <algorithm>
#include <map>

#include "nn/op_registry.h"
#include "quant/conv_unit.h"

namespace qf {
namespace {

bool in_list(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool is_float(DType t) {
  return t == DType::f32 || t == DType::f64;
}

// Builds the new node list: original nodes with inserted quantizer chains in front of them.
class Rewriter {
 public:
  Rewriter(Graph& g, const QuantConfig& c, QuantAwareReport& r) : g_(g), c_(c), r_(r) {}

  int add_state(const std::string& name, ValueKind kind, const Shape& shape, Init init) {
    Value v;
    v.name = name;
    v.kind = kind;
    v.shape = shape;
    v.init = std::move(init);
    if (kind == ValueKind::param) {
      v.lr_mult = static_cast<float>(c_.pact_lr_mult);
      v.decay_mult = static_cast<float>(c_.pact_decay_mult);
    }
    r_.state.push_back(name);
    return g_.add_value(std::move(v));
  }

  int add_activation(const std::string& name) {
    Value v;
    v.name = name;
    return g_.add_value(std::move(v));
  }

  // x -> pact(x) with a fresh alpha; returns the clipped value.
  int pact(const std::string& name, int x) {
    const int alpha =
        add_state(name + ".alpha", ValueKind::param, {1}, Init::constant(c_.pact_alpha_init));
    const int y = add_activation(name);
    out_.push_back(Node{"pact", name, {x, alpha}, {y}, {}});
    ++r_.pacts;
    return y;
  }

  // x -> fake-quant of `type`; returns the fake-quantized value.
  int quantizer(const std::string& name, int x, QuantizerType type, int bits, bool weight,
                const Shape& channel_shape) {
    Node n;
    n.name = name;
    n.inputs = {x};
    n.attrs.set("bits", int64_t{bits});
    switch (type) {
      case QuantizerType::channel_wise_abs_max:
        n.op = "fake_channel_wise_quantize_dequantize_abs_max";
        n.attrs.set("quant_axis", int64_t{0});
        n.inputs.push_back(
            add_state(name + ".scale", ValueKind::buffer, channel_shape, Init::zeros()));
        break;
      case QuantizerType::abs_max:
        n.op = "fake_quantize_dequantize_abs_max";
        n.inputs.push_back(add_state(name + ".scale", ValueKind::buffer, {1}, Init::zeros()));
        break;
      case QuantizerType::moving_average_abs_max:
        n.op = "fake_quantize_dequantize_moving_average_abs_max";
        n.attrs.set("moving_rate", c_.moving_rate);
        n.inputs.push_back(
            add_state(name + ".scale", ValueKind::buffer, {1}, Init::constant(0.001)));
        n.inputs.push_back(add_state(name + ".state", ValueKind::buffer, {1}, Init::ones()));
        n.inputs.push_back(add_state(name + ".accum", ValueKind::buffer, {1}, Init::ones()));
        break;
      case QuantizerType::range_abs_max:
        n.op = "fake_quantize_dequantize_range_abs_max";
        n.attrs.set("window_size", c_.window_size);
        n.inputs.push_back(
            add_state(name + ".scale", ValueKind::buffer, {1}, Init::constant(0.001)));
        n.inputs.push_back(
            add_state(name + ".window", ValueKind::buffer, {c_.window_size}, Init::zeros()));
        break;
    }
    // Weights are identical on every rank; only activation maxima need the cross-rank MAX.
    n.attrs.set("sync_scales", int64_t{!weight && c_.sync_scales});
    n.attrs.set("is_weight", int64_t{weight});
    const int y = add_activation(name);
    n.outputs = {y};
    out_.push_back(std::move(n));
    ++(weight ? r_.weight_quantizers : r_.activation_quantizers);
    return y;
  }

  int quantize_weight(const Node& n, int w) {
    auto it = done_.find(w);
    if (it != done_.end()) return it->second;
    int x = w;
    if (c_.weight_pact) x = pact(n.name + ".weight_pact", x);
    const int y = quantizer(n.name + ".weight_quant", x, c_.weight_quantize_type, c_.weight_bits,
                            true, {g_.value(n.inputs[1]).shape.at(0)});
    done_[w] = y;
    return y;
  }

  int quantize_activation(const std::string& name, int x) {
    auto it = done_.find(x);
    if (it != done_.end()) return it->second;
    int v = x;
    if (c_.activation_pact) v = pact(str_replace_last(name, "act_quant", "act_pact"), v);
    const int y = quantizer(name, v, c_.activation_quantize_type, c_.activation_bits, false, {});
    done_[x] = y;
    return y;
  }

  static std::string str_replace_last(std::string s, const std::string& from,
                                      const std::string& to) {
    const auto p = s.rfind(from);
    if (p != std::string::npos) s.replace(p, from.size(), to);
    return s;
  }

  std::vector<Node> out_;
  std::map<int, int> done_;  // float value -> its quantized value

 private:
  Graph& g_;
  const QuantConfig& c_;
  QuantAwareReport& r_;
};

bool float_activation_like(const Graph& g, int v) {
  if (v < 0) return false;
  const Value& val = g.value(v);
  return (val.kind == ValueKind::activation || val.kind == ValueKind::input) && is_float(val.dtype);
}

}  // namespace

bool is_fake_quant_op(const std::string& op) {
  return op == "fake_quantize_dequantize_abs_max" ||
         op == "fake_channel_wise_quantize_dequantize_abs_max" ||
         op == "fake_quantize_dequantize_moving_average_abs_max" ||
         op == "fake_quantize_dequantize_range_abs_max" || op == "moving_average_abs_max_scale";
}

std::string paddle_op_type(const Graph& g, const Node& n) {
  if (n.op == "conv2d") {
    const int64_t groups = n.attrs.get_int("group", 1);
    const Shape& w = g.value(n.inputs.at(1)).shape;
    const int64_t cin = w.size() == 4 ? w[1] * groups : 0;
    return groups > 1 && groups == cin ? "depthwise_conv2d" : "conv2d";
  }
  if (n.op == "linear") return "mul";
  if (n.op == "add") return "elementwise_add";
  if (n.op == "max_pool2d" || n.op == "avg_pool2d" || n.op == "global_avg_pool") return "pool2d";
  return "";
}

namespace {

bool skipped_by_pattern(const QuantConfig& c, const Node& n) {
  for (const std::string& p : c.not_quant_pattern)
    if (!p.empty() && n.name.find(p) != std::string::npos) return true;
  return false;
}

// fuse_conv_bn: the batch_norm node (index in `original`) a bias-free conv folds, or -1.
int folded_batch_norm(const QuantConfig& c, const std::vector<Node>& original,
                      const std::vector<std::vector<int>>& consumers, const Node& n) {
  if (!c.fuse_conv_bn || n.op != "conv2d" || (n.inputs.size() > 2 && n.inputs[2] >= 0)) return -1;
  const auto& cons = consumers[n.outputs[0]];
  return cons.size() == 1 && original[cons[0]].op == "batch_norm" ? cons[0] : -1;
}

// Quantizes one node of the original graph: its weight (through bn_fold_weight when it folds
// `bn`) and its float activation inputs; then, when it folds, adds bn_unscale after it and
// returns the value that replaces its output (-1 otherwise).
int quantize_node(Rewriter& rw, Graph& g, const QuantConfig& c, Node n, const Node* bn,
                  QuantAwareReport& report) {
  if (bn) {
    const int wf = rw.add_activation(n.name + ".bn_fold");
    rw.out_.push_back(Node{"bn_fold_weight",
                           n.name + ".bn_fold",
                           {n.inputs[1], bn->inputs[1], bn->inputs[4]},
                           {wf},
                           {{"epsilon", bn->attrs.get_float("epsilon", 1e-5)}}});
    n.inputs[1] = rw.quantize_weight(n, wf);
    ++report.folded_bn;
  } else if (n.op == "conv2d" || n.op == "linear") {
    n.inputs[1] = rw.quantize_weight(n, n.inputs[1]);
  }
  if (!c.quant_weight_only) {
    const int nact = n.op == "add" ? 2 : 1;
    for (int i = 0; i < nact; ++i) {
      if (!float_activation_like(g, n.inputs[i])) continue;
      const std::string name =
          n.name + (nact == 1 ? ".act_quant" : ".act_quant." + std::to_string(i));
      n.inputs[i] = rw.quantize_activation(name, n.inputs[i]);
    }
  }
  const int conv_out = n.outputs[0];
  const std::string name = n.name;
  rw.out_.push_back(std::move(n));
  if (!bn) return -1;
  const int u = rw.add_activation(name + ".bn_unscale");
  rw.out_.push_back(Node{"bn_unscale",
                         name + ".bn_unscale",
                         {conv_out, bn->inputs[1], bn->inputs[4]},
                         {u},
                         {{"epsilon", bn->attrs.get_float("epsilon", 1e-5)}}});
  return u;
}

// Output observers where a quantized conv's unit (quant/conv_unit.h) ends in a value nothing
// quantizes: a quantizing moving_average_abs_max_scale right after the unit's last node.
void add_output_observers(Graph& g, const QuantConfig& c, Rewriter& rw,
                          const std::vector<int>& conv_nodes, QuantAwareReport& report) {
  const auto cons = g.consumers();
  std::vector<std::pair<ConvUnit, int>> observe;  // (unit, conv node)
  for (int ci : conv_nodes) {
    const ConvUnit unit = conv_unit(g, cons, ci);
    if (!rw.done_.count(unit.end)) observe.push_back({unit, ci});
  }
  std::sort(observe.begin(), observe.end(),
            [](const auto& a, const auto& b) { return a.first.last > b.first.last; });
  for (const auto& [unit, ci] : observe) {  // from the back, so earlier indices stay valid
    const std::string name = g.nodes()[ci].name + ".out_observer";
    Node n;
    n.op = "moving_average_abs_max_scale";
    n.name = name;
    n.attrs.set("moving_rate", c.moving_rate);
    n.attrs.set("sync_scales", int64_t{c.sync_scales});
    n.attrs.set("quantize", int64_t{1});  // simulate the export's requantization here
    n.inputs = {unit.end, rw.add_state(name + ".scale", ValueKind::buffer, {1}, Init::ones()),
                rw.add_state(name + ".state", ValueKind::buffer, {1}, Init::ones()),
                rw.add_state(name + ".accum", ValueKind::buffer, {1}, Init::ones())};
    const int y = rw.add_activation(name);
    n.outputs = {y};
    g.replace_uses(unit.end, y);
    g.insert_node(static_cast<size_t>(unit.last) + 1, std::move(n));
    ++report.observers;
  }
}

}  // namespace

QuantAwareReport quant_aware(Graph& g, const QuantConfig& c) {
  for (const Node& n : g.nodes())
    if (is_fake_quant_op(n.op) || n.op == "pact")
      throw_input_error("quant_aware: the graph is already quantized (node '", n.name, "' is ",
                        n.op, ")");
  QuantAwareReport report;
  const std::vector<Node> original = g.nodes();
  const auto original_consumers = g.consumers();
  std::map<int, int> rename;  // conv output -> its bn_unscale output (fuse_conv_bn)
  Rewriter rw(g, c, report);
  std::vector<int> conv_nodes;  // indices in rw.out_ of quantized convs (for observers)
  for (Node n : original) {
    for (int& v : n.inputs)
      if (rename.count(v)) v = rename[v];
    const std::string type = paddle_op_type(g, n);
    if (type.empty() || !in_list(c.quantize_op_types, type) || skipped_by_pattern(c, n)) {
      if (!type.empty() && in_list(c.quantize_op_types, type)) report.skipped.push_back(n.name);
      rw.out_.push_back(std::move(n));
      continue;
    }
    report.quantized.push_back(n.name);
    const int bn = folded_batch_norm(c, original, original_consumers, n);
    const int conv_out = n.outputs[0];
    const bool conv = n.op == "conv2d";
    const int u = quantize_node(rw, g, c, std::move(n), bn >= 0 ? &original[bn] : nullptr, report);
    // The conv is the last node quantize_node added, or the one before its bn_unscale.
    if (conv) conv_nodes.push_back(static_cast<int>(rw.out_.size()) - (u >= 0 ? 2 : 1));
    if (u >= 0) rename[conv_out] = u;
  }
  g.nodes() = std::move(rw.out_);
  if (!c.quant_weight_only) add_output_observers(g, c, rw, conv_nodes, report);
  g.validate();
  return report;
}

int freeze_batch_norm(Graph& g) {
  int n = 0;
  for (Node& node : g.nodes())
    if (node.op == "batch_norm") {
      node.attrs.set("use_running_stats", int64_t{1});
      ++n;
    }
  return n;
}

int freeze_activation_scales(Graph& g) {
  int n = 0;
  for (Node& node : g.nodes())
    if ((node.op == "fake_quantize_dequantize_moving_average_abs_max" ||
         node.op == "fake_quantize_dequantize_range_abs_max" ||
         node.op == "moving_average_abs_max_scale") &&
        node.attrs.get_int("is_weight", 0) == 0) {
      node.attrs.set("frozen", int64_t{1});
      ++n;
    }
  return n;
}

}  // namespace qf
