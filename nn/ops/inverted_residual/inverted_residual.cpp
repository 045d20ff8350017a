#include "nn/ops/inverted_residual/inverted_residual.h"

#include <vector>

#include "nn/ops/op_util.h"

namespace qf {
namespace {

bool present(const Node& n, int input) {
  return static_cast<int>(n.inputs.size()) > input && n.inputs[input] >= 0;
}

// Stage `k`'s conv2d node: the attrs under its prefix; inputs 0 and 1 present, the bias (and for
// the projection the residual) present when the block has it.
Node stage_node(const Node& n, int k, bool bias, bool residual) {
  const std::string prefix = kIrStagePrefixes[k];
  Node s;
  s.op = "conv2d";
  s.name = n.name + "." + prefix.substr(0, prefix.size() - 1);
  s.inputs = {0, 1, bias ? 2 : -1};
  if (residual) s.inputs.push_back(kConvResidualInput);
  for (const auto& [key, v] : n.attrs.items())
    if (key.compare(0, prefix.size(), prefix) == 0) s.attrs.set(key.substr(prefix.size()), v);
  return s;
}

bool pointwise(const ConvGeom& g) {
  return g.R == 1 && g.S == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 &&
         g.groups == 1 && g.OH == g.H && g.OW == g.W;
}

void expect_bias(const Node& node, std::span<const TensorDesc> in, int input, int64_t n) {
  if (present(node, input) && in[input].shape != Shape{n})
    shape_error(node, str_cat("bias input ", input, " must have shape [", n, "], got ",
                              shape_str(in[input].shape)));
}

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  const InvertedResidual b = inverted_residual_of(node, in);
  return {{{b.p.N, b.p.K, b.p.OH, b.p.OW}, DType::f32}};
}

int64_t macs(const Node& node, std::span<const TensorDesc> in, std::span<const TensorDesc>) {
  const InvertedResidual b = inverted_residual_of(node, in);
  int64_t n = 0;
  for (const ConvGeom* g : {&b.e, &b.d, &b.p})
    n += g->N * g->K * g->OH * g->OW * (g->C / g->groups) * g->R * g->S;
  return n;
}

// The three convolutions one after another on the reference kernels' arithmetic.
class InvertedResidualRef final : public Kernel {
 public:
  explicit InvertedResidualRef(const KernelSetup& s) : b_(inverted_residual_of(s.node, s.in)) {
    QF_CHECK(!s.training, "inverted_residual '", s.node.name, "' is an inference-only op");
  }
  void forward(const ForwardCall& c) override {
    const float* r = c.in[kIrResidual] ? c.in[kIrResidual]->data<float>() : nullptr;
    std::vector<float> residual;  // the output may be r's buffer: keep r before writing
    if (r) residual.assign(r, r + c.out[0]->numel());
    std::vector<float> h(b_.e.N * b_.e.K * b_.e.OH * b_.e.OW), d(b_.d.N * b_.d.K * b_.d.OH * b_.d.OW);
    stage(b_.expand, b_.e, c.in[kIrX]->data<float>(), c, kIrExpandW, nullptr, h.data());
    stage(b_.depthwise, b_.d, h.data(), c, kIrDepthwiseW, nullptr, d.data());
    stage(b_.project, b_.p, d.data(), c, kIrProjectW, r ? residual.data() : nullptr,
          c.out[0]->data<float>());
  }

 private:
  static void stage(const Node& n, const ConvGeom& g, const float* x, const ForwardCall& c, int w,
                    const float* r, float* y) {
    conv2d_forward_ref<float>(g, x, c.in[w]->data<float>(), ptr<float>(c.in[w + 1]), y);
    const ConvEpilogue e = conv_epilogue(n);
    if (e.any()) apply_conv_epilogue<float>(e, r, y, g.N * g.K * g.OH * g.OW);
  }

  InvertedResidual b_;
};

}  // namespace

InvertedResidual inverted_residual_of(const Node& node, std::span<const TensorDesc> in) {
  if (in.size() < kIrProjectB + 1) shape_error(node, "needs at least 7 inputs");
  for (size_t i = 0; i < in.size(); ++i)
    if (present(node, static_cast<int>(i)) && in[i].dtype != DType::f32)
      shape_error(node, str_cat("input ", i, " must be float32, got ", dtype_name(in[i].dtype)));
  const bool residual = present(node, kIrResidual);
  InvertedResidual b{stage_node(node, 0, present(node, kIrExpandB), false),
                     stage_node(node, 1, present(node, kIrDepthwiseB), false),
                     stage_node(node, 2, present(node, kIrProjectB), residual),
                     {}, {}, {}};
  b.e = conv_geom(b.expand, in[kIrX], in[kIrExpandW]);
  if (!pointwise(b.e)) shape_error(node, "the expansion must be a 1x1 stride-1 unpadded convolution");
  const TensorDesc h{{b.e.N, b.e.K, b.e.OH, b.e.OW}, DType::f32};
  b.d = conv_geom(b.depthwise, h, in[kIrDepthwiseW]);
  if (b.d.groups != b.e.K || b.d.K != b.e.K || b.d.dh != 1 || b.d.dw != 1)
    shape_error(node, str_cat("the middle convolution must be depthwise over the ", b.e.K,
                              " expanded channels, undilated"));
  const auto pads = b.depthwise.attrs.get_ints("pads", {0, 0, 0, 0});
  if (pads[0] >= b.d.R || pads[2] >= b.d.R || pads[1] >= b.d.S || pads[3] >= b.d.S)
    shape_error(node, "the depthwise padding must be smaller than its kernel");
  const TensorDesc d{{b.d.N, b.d.K, b.d.OH, b.d.OW}, DType::f32};
  b.p = conv_geom(b.project, d, in[kIrProjectW]);
  if (!pointwise(b.p)) shape_error(node, "the projection must be a 1x1 stride-1 unpadded convolution");
  expect_bias(node, in, kIrExpandB, b.e.K);
  expect_bias(node, in, kIrDepthwiseB, b.d.K);
  expect_bias(node, in, kIrProjectB, b.p.K);
  const Shape y{b.p.N, b.p.K, b.p.OH, b.p.OW};
  if (residual && in[kIrResidual].shape != y)
    shape_error(node, str_cat("residual must have the output's shape ", shape_str(y), ", got ",
                              shape_str(in[kIrResidual].shape)));
  return b;
}

void register_inverted_residual(OpRegistry& reg) {
  OpDef d;
  d.type = "inverted_residual";
  d.min_inputs = kIrProjectB + 1;
  d.max_inputs = kIrResidual + 1;
  d.nondiff_inputs = {0, 1, 2, 3, 4, 5, 6, 7};
  d.forward_in_place_input = kIrResidual;  // y = ... + r may be written over r
  d.infer = infer;
  d.macs = macs;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_inverted_residual_dnnl;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<InvertedResidualRef>;
  reg.add(std::move(d));
}

}  // namespace qf
