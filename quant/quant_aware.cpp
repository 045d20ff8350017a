// quant_aware pass (contract in quant/quant_aware.h).
#include "quant/quant_aware.h"

#include <algorithm>
#include <map>

#include "nn/op_registry.h"

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
  int quantizer(const std::string& name, int x, const std::string& type, int bits, bool weight,
                const Shape& channel_shape) {
    Node n;
    n.name = name;
    n.inputs = {x};
    n.attrs.set("bits", int64_t{bits});
    if (type == "channel_wise_abs_max") {
      n.op = "fake_channel_wise_quantize_dequantize_abs_max";
      n.attrs.set("quant_axis", int64_t{0});
      n.inputs.push_back(
          add_state(name + ".scale", ValueKind::buffer, channel_shape, Init::zeros()));
    } else if (type == "abs_max") {
      n.op = "fake_quantize_dequantize_abs_max";
      n.inputs.push_back(add_state(name + ".scale", ValueKind::buffer, {1}, Init::zeros()));
    } else if (type == "moving_average_abs_max") {
      n.op = "fake_quantize_dequantize_moving_average_abs_max";
      n.attrs.set("moving_rate", c_.moving_rate);
      n.inputs.push_back(add_state(name + ".scale", ValueKind::buffer, {1}, Init::constant(0.001)));
      n.inputs.push_back(add_state(name + ".state", ValueKind::buffer, {1}, Init::ones()));
      n.inputs.push_back(add_state(name + ".accum", ValueKind::buffer, {1}, Init::ones()));
    } else {
      QF_CHECK(type == "range_abs_max", "unknown quantize type ", type);
      n.op = "fake_quantize_dequantize_range_abs_max";
      n.attrs.set("window_size", c_.window_size);
      n.inputs.push_back(add_state(name + ".scale", ValueKind::buffer, {1}, Init::constant(0.001)));
      n.inputs.push_back(
          add_state(name + ".window", ValueKind::buffer, {c_.window_size}, Init::zeros()));
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
    if (c_.weight_preprocess_type == "PACT") x = pact(n.name + ".weight_pact", x);
    const int y = quantizer(n.name + ".weight_quant", x, c_.weight_quantize_type, c_.weight_bits,
                            true, {g_.value(n.inputs[1]).shape.at(0)});
    done_[w] = y;
    return y;
  }

  int quantize_activation(const std::string& name, int x) {
    auto it = done_.find(x);
    if (it != done_.end()) return it->second;
    int v = x;
    if (c_.activation_preprocess_type == "PACT")
      v = pact(str_replace_last(name, "act_quant", "act_pact"), v);
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

QuantAwareReport quant_aware(Graph& g, const QuantConfig& c) {
  c.validate();
  for (const Node& n : g.nodes())
    if (is_fake_quant_op(n.op) || n.op == "pact")
      throw_input_error("quant_aware: the graph is already quantized (node '", n.name, "' is ",
                        n.op, ")");
  QuantAwareReport report;
  const std::vector<std::string> ops = c.effective_op_types();
  const std::vector<Node> original = g.nodes();
  const auto original_consumers = g.consumers();
  std::map<int, int> rename;  // conv output -> its bn_unscale output (fuse_conv_bn)
  Rewriter rw(g, c, report);
  std::vector<int> conv_nodes;  // indices in rw.out_ of quantized convs (for observers)

  for (size_t idx = 0; idx < original.size(); ++idx) {
    Node n = original[idx];
    for (int& v : n.inputs)
      if (rename.count(v)) v = rename[v];
    const std::string type = paddle_op_type(g, n);
    if (type.empty() || !in_list(ops, type)) {
      rw.out_.push_back(std::move(n));
      continue;
    }
    bool skip = false;
    for (const std::string& p : c.not_quant_pattern)
      skip = skip || (!p.empty() && n.name.find(p) != std::string::npos);
    if (skip) {
      report.skipped.push_back(n.name);
      rw.out_.push_back(std::move(n));
      continue;
    }
    report.quantized.push_back(n.name);
    const bool weighted = n.op == "conv2d" || n.op == "linear";
    // fuse_conv_bn: a bias-free conv whose only consumer is a batch_norm trains on the folded
    // weight and rescales its output before the batch_norm.
    int bn = -1;
    if (c.fuse_conv_bn && n.op == "conv2d" && (n.inputs.size() < 3 || n.inputs[2] < 0)) {
      const auto& cons = original_consumers[n.outputs[0]];
      if (cons.size() == 1 && original[cons[0]].op == "batch_norm") bn = cons[0];
    }
    if (bn >= 0) {
      const Node& b = original[bn];
      Attrs eps{{"epsilon", b.attrs.get_float("epsilon", 1e-5)}};
      const int wf = rw.add_activation(n.name + ".bn_fold");
      rw.out_.push_back(Node{"bn_fold_weight",
                             n.name + ".bn_fold",
                             {n.inputs[1], b.inputs[1], b.inputs[4]},
                             {wf},
                             eps});
      n.inputs[1] = rw.quantize_weight(n, wf);
      ++report.folded_bn;
    } else if (weighted) {
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
    if (n.op == "conv2d") conv_nodes.push_back(static_cast<int>(rw.out_.size()));
    const int conv_out = n.outputs[0];
    rw.out_.push_back(std::move(n));
    if (bn >= 0) {
      const Node& b = original[bn];
      const int u = rw.add_activation(rw.out_.back().name + ".bn_unscale");
      rw.out_.push_back(Node{"bn_unscale",
                             rw.out_.back().name + ".bn_unscale",
                             {conv_out, b.inputs[1], b.inputs[4]},
                             {u},
                             {{"epsilon", b.attrs.get_float("epsilon", 1e-5)}}});
      rename[conv_out] = u;
    }
  }
  g.nodes() = std::move(rw.out_);

  // Output observers where a conv unit's end feeds nothing quantized.
  if (!c.quant_weight_only) {
    struct Observe {
      int after;  // node index the observer follows
      int value;
      std::string conv;
    };
    std::vector<Observe> observe;
    const auto cons = g.consumers();
    const auto& nodes = g.nodes();
    for (int ci : conv_nodes) {
      int v = nodes[ci].outputs[0], last = ci;
      for (const char* op : {"bn_unscale", "batch_norm", "relu"}) {
        if (cons[v].size() != 1) break;
        const Node& next = nodes[cons[v][0]];
        const bool match = next.op == op || (std::string(op) == "relu" && next.op == "relu6");
        if (!match) continue;
        last = cons[v][0];
        v = next.outputs[0];
      }
      if (!rw.done_.count(v)) observe.push_back({last, v, nodes[ci].name});
    }
    std::sort(observe.begin(), observe.end(),
              [](const Observe& a, const Observe& b) { return a.after > b.after; });
    for (const Observe& o : observe) {  // from the back, so earlier indices stay valid
      const std::string name = o.conv + ".out_observer";
      Node n;
      n.op = "moving_average_abs_max_scale";
      n.name = name;
      n.attrs.set("moving_rate", c.moving_rate);
      n.attrs.set("sync_scales", int64_t{c.sync_scales});
      n.attrs.set("quantize", int64_t{1});  // simulate the export's requantization here
      n.inputs = {o.value, rw.add_state(name + ".scale", ValueKind::buffer, {1}, Init::ones()),
                  rw.add_state(name + ".state", ValueKind::buffer, {1}, Init::ones()),
                  rw.add_state(name + ".accum", ValueKind::buffer, {1}, Init::ones())};
      const int y = rw.add_activation(name);
      n.outputs = {y};
      g.replace_uses(o.value, y);
      g.insert_node(static_cast<size_t>(o.after) + 1, std::move(n));
      ++report.observers;
    }
  }
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
