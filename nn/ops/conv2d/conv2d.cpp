#include "nn/ops/conv2d/conv2d.h"

#include <vector>

#include "nn/ops/op_util.h"

namespace qf {

ConvGeom conv_geom(const Node& node, const TensorDesc& x, const TensorDesc& w) {
  expect_rank(node, x, 4, "input");
  expect_rank(node, w, 4, "weight");
  const auto st = node.attrs.get_ints("strides", {1, 1});
  const auto pd = node.attrs.get_ints("pads", {0, 0, 0, 0});
  const auto dl = node.attrs.get_ints("dilations", {1, 1});
  const int64_t groups = node.attrs.get_int("group", 1);
  if (st.size() != 2 || pd.size() != 4 || dl.size() != 2)
    shape_error(node, "strides and dilations need 2 values, pads 4");
  ConvGeom g{x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[2],
             w.shape[3], 0,          0,          st[0],      st[1],      pd[0],
             pd[1],      dl[0],      dl[1],      groups};
  if (groups < 1 || g.C % groups || g.K % groups)
    shape_error(node, str_cat("group ", groups, " must divide input channels ", g.C,
                              " and output channels ", g.K));
  if (w.shape[1] != g.C / groups)
    shape_error(node, str_cat("weight ", shape_str(w.shape), " expects ", w.shape[1] * groups,
                              " input channels, input has ", g.C));
  if (g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1 || pd[0] < 0 || pd[1] < 0 || pd[2] < 0 ||
      pd[3] < 0)
    shape_error(node, "strides and dilations must be >= 1 and pads >= 0");
  g.OH = (g.H + pd[0] + pd[2] - g.dh * (g.R - 1) - 1) / g.sh + 1;
  g.OW = (g.W + pd[1] + pd[3] - g.dw * (g.S - 1) - 1) / g.sw + 1;
  if (g.OH < 1 || g.OW < 1)
    shape_error(node, str_cat("input ", shape_str(x.shape), " is smaller than the kernel"));
  return g;
}

namespace {

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  const ConvGeom g = conv_geom(node, in[0], in[1]);
  if (node.inputs.size() > 2 && node.inputs[2] >= 0 && in[2].shape != Shape{g.K})
    shape_error(node, str_cat("bias must have shape [", g.K, "], got ", shape_str(in[2].shape)));
  const Shape y{g.N, g.K, g.OH, g.OW};
  if (conv_epilogue(node).residual && in[kConvResidualInput].shape != y)
    shape_error(node, str_cat("residual must have the output's shape ", shape_str(y), ", got ",
                              shape_str(in[kConvResidualInput].shape)));
  return {{{g.N, g.K, g.OH, g.OW}, in[0].dtype}};
}

int64_t macs(const Node& node, std::span<const TensorDesc> in, std::span<const TensorDesc>) {
  const ConvGeom g = conv_geom(node, in[0], in[1]);
  return g.N * g.K * g.OH * g.OW * (g.C / g.groups) * g.R * g.S;
}

class Conv2dRef final : public Kernel {
 public:
  explicit Conv2dRef(const KernelSetup& s)
      : g_(conv_geom(s.node, s.in[0], s.in[1])), epilogue_(conv_epilogue(s.node)) {
    check_conv_epilogue_for_inference(s);
  }
  void forward(const ForwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      // The output may be the residual's buffer (forward_in_place_input): keep r before writing.
      std::vector<T> r;
      if (epilogue_.residual) {
        const T* rp = ptr<T>(c.in[kConvResidualInput]);
        r.assign(rp, rp + c.out[0]->numel());
      }
      conv2d_forward_ref<T>(g_, ptr<T>(c.in[0]), ptr<T>(c.in[1]),
                            c.in.size() > 2 ? ptr<T>(c.in[2]) : nullptr, mut_ptr<T>(c.out[0]));
      if (epilogue_.any())
        apply_conv_epilogue<T>(epilogue_, epilogue_.residual ? r.data() : nullptr,
                               mut_ptr<T>(c.out[0]), c.out[0]->numel());
    });
  }
  void backward(const BackwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      conv2d_backward_ref<T>(g_, ptr<T>(c.in[0]), ptr<T>(c.in[1]), ptr<T>(c.grad_out[0]),
                             mut_ptr<T>(c.grad_in[0]), mut_ptr<T>(c.grad_in[1]),
                             c.grad_in.size() > 2 ? mut_ptr<T>(c.grad_in[2]) : nullptr);
    });
  }

 private:
  ConvGeom g_;
  ConvEpilogue epilogue_;
};

}  // namespace

void check_conv_epilogue_for_inference(const KernelSetup& s) {
  QF_CHECK(!s.training || !conv_epilogue(s.node).any(), "conv2d '", s.node.name,
           "' carries a fused residual or activation: an inference-only form, not trainable");
}

void register_conv2d(OpRegistry& reg) {
  OpDef d;
  d.type = "conv2d";
  d.min_inputs = 2;
  d.max_inputs = 4;  // x, w, b, residual (inference fusion)
  d.forward_in_place_input = kConvResidualInput;  // y = conv + r may be written over r
  d.infer = infer;
  d.backward_reads_outputs = 0;  // backward reads x and w (dW = dY * x, dx = dY * w)
  d.macs = macs;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_conv2d_dnnl;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<Conv2dRef>;
  reg.add(std::move(d));
}

}  // namespace qf
