#include "quant/inference_fusion.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "nn/op_registry.h"
#include "nn/ops/conv2d/conv2d_epilogue.h"
#include "nn/ops/inverted_residual/inverted_residual.h"
#include "quant/fuse_conv_bn.h"

namespace qf {
namespace {

bool is_graph_output(const Graph& g, int v) {
  const auto& outs = g.outputs();
  return std::find(outs.begin(), outs.end(), v) != outs.end();
}

// The node that alone reads conv node `i`'s output, or -1 (also when that output is a graph
// output: it must stay computable).
int sole_reader(const Graph& g, const std::vector<std::vector<int>>& cons, int i) {
  const int y = g.nodes()[i].outputs[0];
  if (is_graph_output(g, y) || cons[y].size() != 1) return -1;
  return cons[y][0];
}

// Conv node `i` absorbs Add node `j` (which reads its output): the Add's other operand becomes
// the conv's residual input. False when that operand is not ready before the conv runs or does not
// have the output's shape (a broadcasting Add).
bool absorb_add(Graph& g, const std::vector<TensorDesc>& desc, const std::vector<int>& prod, int i,
                int j) {
  const Node& add = g.nodes()[j];
  const int y = g.nodes()[i].outputs[0];
  if (add.inputs.size() != 2 || add.inputs[0] == add.inputs[1] || is_graph_output(g, add.outputs[0]))
    return false;
  const int r = add.inputs[0] == y ? add.inputs[1] : add.inputs[0];
  if (r < 0 || prod[r] >= i || desc[r].shape != desc[y].shape || desc[r].dtype != DType::f32)
    return false;
  Node& conv = g.nodes()[i];
  conv.inputs.resize(kConvResidualInput, -1);  // an absent bias stays absent (-1)
  conv.inputs.push_back(r);
  return true;
}

bool absorb_activation(Graph& g, int i, int j) {
  const Node& a = g.nodes()[j];
  if (!conv_can_absorb(a.op) || is_graph_output(g, a.outputs[0])) return false;
  double alpha = 0, beta = 0;
  if (a.op == "hardsigmoid") {  // the activation op's defaults (nn/ops/activations)
    alpha = a.attrs.get_float("alpha", 1.0 / 6.0);
    beta = a.attrs.get_float("beta", 0.5);
  } else if (a.op == "clip") {
    alpha = a.attrs.get_float("min", -std::numeric_limits<double>::infinity());
    beta = a.attrs.get_float("max", std::numeric_limits<double>::infinity());
  }
  Node& conv = g.nodes()[i];
  conv.attrs.set("activation", a.op);
  conv.attrs.set("activation_alpha", alpha);
  conv.attrs.set("activation_beta", beta);
  return true;
}

// One fusion anywhere in the graph; false when none is left.
bool fuse_one(Graph& g, InferenceFusionReport& r) {
  const auto cons = g.consumers();
  const auto prod = g.producers();
  const std::vector<TensorDesc> desc = infer_graph(g, 1);  // shapes at batch 1, types
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& conv = g.nodes()[i];
    if (conv.op != "conv2d" || desc[conv.outputs[0]].dtype != DType::f32) continue;
    const ConvEpilogue e = conv_epilogue(conv);
    if (!e.activation.empty()) continue;
    const int j = sole_reader(g, cons, static_cast<int>(i));
    if (j < 0) continue;
    const std::string op = g.nodes()[j].op;
    bool fused = false;
    if (op == "add" && !e.residual) {
      fused = absorb_add(g, desc, prod, static_cast<int>(i), j);
      r.residual_adds += fused;
    } else if (conv_can_absorb(op)) {
      fused = absorb_activation(g, static_cast<int>(i), j);
      r.activations += fused;
    }
    if (!fused) continue;
    g.replace_uses(g.nodes()[j].outputs[0], g.nodes()[i].outputs[0]);
    g.remove_nodes({j});
    return true;
  }
  return false;
}

// Add node `j` absorbs the per-tensor DequantizeLinear that alone feeds its input `k` (int8 or
// uint8 data), becoming dequantize_add(q, scale, zero_point, other operand).
bool absorb_dequantize(Graph& g, const std::vector<TensorDesc>& desc,
                       const std::vector<std::vector<int>>& cons, const std::vector<int>& prod,
                       int j, int k) {
  const Node& add = g.nodes()[j];
  const int d = add.inputs[k], r = add.inputs[1 - k];
  if (d < 0 || r < 0 || d == r || prod[d] < 0 || cons[d].size() != 1 || is_graph_output(g, d))
    return false;
  const Node& dq = g.nodes()[prod[d]];
  if (dq.op != "dequantize_linear") return false;
  const DType qt = desc[dq.inputs[0]].dtype;
  const bool zp = dq.inputs.size() > 2 && dq.inputs[2] >= 0;
  if ((qt != DType::i8 && qt != DType::u8) || numel(desc[dq.inputs[1]].shape) != 1 ||
      desc[r].dtype != DType::f32 || desc[r].shape != desc[d].shape)
    return false;
  const int dq_index = prod[d];
  Node& n = g.nodes()[j];
  n.op = "dequantize_add";
  n.inputs = {dq.inputs[0], dq.inputs[1], zp ? dq.inputs[2] : -1, r};
  g.remove_nodes({dq_index});
  return true;
}

// The dequantize_add producing value `name` absorbs the ReLU that alone reads it.
void absorb_relu_after(Graph& g, const std::string& name) {
  const int y = g.value_id(name);
  const auto cons = g.consumers();
  if (is_graph_output(g, y) || cons[y].size() != 1) return;
  const int relu = cons[y][0];
  const int z = g.nodes()[relu].outputs[0];
  if (g.nodes()[relu].op != "relu" || is_graph_output(g, z)) return;
  g.nodes()[g.producers()[y]].attrs.set("activation", std::string("relu"));
  g.replace_uses(z, y);
  g.remove_nodes({relu});
}

// One DequantizeLinear -> Add (-> ReLU) fusion; false when none is left.
bool fuse_one_dequantize_add(Graph& g) {
  const auto cons = g.consumers();
  const auto prod = g.producers();
  const std::vector<TensorDesc> desc = infer_graph(g, 1);
  for (size_t j = 0; j < g.nodes().size(); ++j) {
    const Node& add = g.nodes()[j];
    if (add.op != "add" || add.inputs.size() != 2) continue;
    const std::string y = g.value(add.outputs[0]).name;  // ids move when the DQ node goes
    if (absorb_dequantize(g, desc, cons, prod, static_cast<int>(j), 0) ||
        absorb_dequantize(g, desc, cons, prod, static_cast<int>(j), 1)) {
      absorb_relu_after(g, y);
      return true;
    }
  }
  return false;
}

bool has_input(const Node& n, int i) { return static_cast<int>(n.inputs.size()) > i && n.inputs[i] >= 0; }

// The float direct conv2d that produces value v for a single reader, or -1 (also when v is a graph
// output: it must stay computable).
int sole_conv_producer(const Graph& g, const std::vector<std::vector<int>>& cons,
                       const std::vector<int>& prod, const std::vector<TensorDesc>& desc, int v) {
  if (v < 0 || is_graph_output(g, v) || cons[v].size() != 1 || prod[v] < 0) return -1;
  const Node& n = g.nodes()[prod[v]];
  const bool direct = n.op == "conv2d" && desc[v].dtype == DType::f32 &&
                      n.attrs.get_string("algorithm", "direct") == "direct";
  return direct ? prod[v] : -1;
}

// The inverted_residual node for convolutions e -> d -> p, or none where they do not make one:
// inverted_residual_of (nn/ops/inverted_residual) is the one judge of the shapes.
std::optional<Node> inverted_residual_node(const Node& e, const Node& d, const Node& p,
                                           const std::vector<TensorDesc>& desc) {
  if (has_input(e, kConvResidualInput) || has_input(d, kConvResidualInput)) return std::nullopt;
  auto bias = [](const Node& n) { return has_input(n, 2) ? n.inputs[2] : -1; };
  Node block;
  block.op = "inverted_residual";
  block.name = p.name;
  block.outputs = p.outputs;
  block.inputs = {e.inputs[0], e.inputs[1], bias(e), d.inputs[1], bias(d), p.inputs[1], bias(p),
                  has_input(p, kConvResidualInput) ? p.inputs[kConvResidualInput] : -1};
  const Node* stages[3] = {&e, &d, &p};
  for (int k = 0; k < 3; ++k)
    for (const auto& [key, v] : stages[k]->attrs.items())
      block.attrs.set(std::string(kIrStagePrefixes[k]) + key, v);
  std::vector<TensorDesc> in;
  for (int v : block.inputs) in.push_back(v >= 0 ? desc[v] : TensorDesc{});
  try {
    inverted_residual_of(block, in);
  } catch (const InputError&) {
    return std::nullopt;
  }
  return block;
}

// One expand -> depthwise -> project chain made an inverted_residual; false when none is left.
bool fuse_one_inverted_residual(Graph& g) {
  const auto cons = g.consumers();
  const auto prod = g.producers();
  const std::vector<TensorDesc> desc = infer_graph(g, 1);
  for (size_t pi = 0; pi < g.nodes().size(); ++pi) {
    const Node& p = g.nodes()[pi];
    if (p.op != "conv2d" || p.inputs.empty()) continue;
    const int di = sole_conv_producer(g, cons, prod, desc, p.inputs[0]);
    const int ei = di < 0 ? -1 : sole_conv_producer(g, cons, prod, desc, g.nodes()[di].inputs[0]);
    if (ei < 0) continue;
    std::optional<Node> block = inverted_residual_node(g.nodes()[ei], g.nodes()[di], p, desc);
    if (!block) continue;
    g.nodes()[pi] = std::move(*block);
    g.remove_nodes({ei, di});
    return true;
  }
  return false;
}

}  // namespace

int fuse_inverted_residuals(Graph& g) {
  int n = 0;
  while (fuse_one_inverted_residual(g)) ++n;
  return n;
}

int fuse_dequantize_adds(Graph& g) {
  int n = 0;
  while (fuse_one_dequantize_add(g)) ++n;
  return n;
}

InferenceFusionReport fuse_conv_epilogues(Graph& g) {
  InferenceFusionReport r;
  while (fuse_one(g, r)) {
  }
  return r;
}

int choose_winograd(Graph& g) {
  int marked = 0;
  const std::vector<TensorDesc> desc = infer_graph(g, 1);
  for (Node& n : g.nodes()) {
    if (n.op != "conv2d" || n.inputs.size() < 2 || desc[n.outputs[0]].dtype != DType::f32) continue;
    const Shape& w = desc[n.inputs[1]].shape;  // (K, C/groups, R, S)
    const bool dense3x3 = w.size() == 4 && w[2] == 3 && w[3] == 3 && n.attrs.get_int("group", 1) == 1;
    const bool unit = n.attrs.get_ints("strides", {1, 1}) == std::vector<int64_t>{1, 1} &&
                      n.attrs.get_ints("dilations", {1, 1}) == std::vector<int64_t>{1, 1};
    if (!dense3x3 || !unit || w[0] < 32 || w[1] < 32) continue;
    n.attrs.set("algorithm", std::string("winograd"));
    ++marked;
  }
  return marked;
}

InferenceFusionReport fuse_for_inference(Graph& g, bool blocks) {
  const int folded = fuse_conv_bn(g, /*skip_without_data=*/true);
  InferenceFusionReport r = fuse_conv_epilogues(g);
  r.batch_norms = folded;
  if (blocks) r.inverted_residuals = fuse_inverted_residuals(g);
  r.dequantize_adds = fuse_dequantize_adds(g);
  return r;
}

}  // namespace qf
