// qconv2d: convolution with int8 operands and int32 accumulation — the int8 engine's conv, made by
// the int8 lowering (quant/int8_lowering.h) from a QDQ model's DQ -> Conv -> Q pattern.
//   inputs: x (N, C, H, W) int8 or uint8, channels-last (zero point 0: symmetric quantization);
//           w (K, C/groups, R, S) int8 constant; bias (K) float32 in accumulator units, optional
//   attrs:  the conv2d geometry (strides, pads, dilations, group) and the output stage of
//           quant/ops/int8_epilogue.h (scales, out_dtype, round_clip, act, post_scale, ...)
//   output: y (N, K, OH, OW) float32, int8 or uint8, channels-last
//   y[n, k, p] = epilogue_k( sum_{c, r, s} x[n, c, p + (r, s)] * w[k, c, r, s]  +  bias[k] )
// Inference only (no backward). The reference kernel sums in int32 exactly; the fast kernel is a
// oneDNN int8 convolution (VNNI on CPUs that have it) with the output stage as output scales and
// post-ops, and weights reordered once, on the first forward, into the primitive's layout (they
// are constants).
#include "nn/kernels/cpu/dnnl_util.h"
#include "nn/ops/conv2d/conv2d.h"
#include "nn/ops/op_util.h"
#include "quant/ops/int8_epilogue.h"

namespace qf {
namespace {

using dnnl::memory;
using dt = memory::data_type;

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  if (in[0].dtype != DType::i8 && in[0].dtype != DType::u8)
    shape_error(node, str_cat("input must be int8 or uint8, got ", dtype_name(in[0].dtype)));
  if (in[1].dtype != DType::i8) shape_error(node, "weight must be int8");
  const ConvGeom g = conv_geom(node, in[0], in[1]);
  const bool bias = node.inputs.size() > 2 && node.inputs[2] >= 0;
  if (bias && (in[2].shape != Shape{g.K} || in[2].dtype != DType::f32))
    shape_error(node, str_cat("bias must be float32 of shape [", g.K, "]"));
  Int8Epilogue::of(node, g.K);
  return {{{g.N, g.K, g.OH, g.OW}, int8_out_dtype(node)}};
}

int64_t macs(const Node& node, std::span<const TensorDesc> in, std::span<const TensorDesc>) {
  const ConvGeom g = conv_geom(node, in[0], in[1]);
  return g.N * g.K * g.OH * g.OW * (g.C / g.groups) * g.R * g.S;
}

template <class X>
void qconv_ref(const ConvGeom& g, const Int8Epilogue& e, const X* x, const int8_t* w,
               const float* bias, void* y) {
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow)
        for (int64_t k = 0; k < g.K; ++k) {
          const int64_t grp = k / Kg;
          int32_t acc = 0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t r = 0; r < g.R; ++r)
              for (int64_t s = 0; s < g.S; ++s) {
                const int64_t ih = oh * g.sh - g.pt + r * g.dh, iw = ow * g.sw - g.pl + s * g.dw;
                if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                const int64_t ci = grp * Cg + c;
                acc += static_cast<int32_t>(x[((n * g.H + ih) * g.W + iw) * g.C + ci]) *
                       static_cast<int32_t>(w[((k * Cg + c) * g.R + r) * g.S + s]);
              }
          const float v = e.apply(k, static_cast<float>(acc) + (bias ? bias[k] : 0.f));
          const int64_t o = ((n * g.OH + oh) * g.OW + ow) * g.K + k;
          if (e.out == DType::f32)
            static_cast<float*>(y)[o] = v;
          else if (e.out == DType::i8)
            static_cast<int8_t*>(y)[o] = Int8Epilogue::saturate<int8_t>(v);
          else
            static_cast<uint8_t*>(y)[o] = Int8Epilogue::saturate<uint8_t>(v);
        }
}

class QConv2dRef final : public Kernel {
 public:
  explicit QConv2dRef(const KernelSetup& s)
      : g_(conv_geom(s.node, s.in[0], s.in[1])), e_(Int8Epilogue::of(s.node, g_.K)) {}
  void forward(const ForwardCall& c) override {
    const float* bias = c.in.size() > 2 && c.in[2] ? c.in[2]->data<float>() : nullptr;
    const int8_t* w = c.in[1]->data<int8_t>();
    if (c.in[0]->dtype() == DType::u8)
      qconv_ref(g_, e_, c.in[0]->data<uint8_t>(), w, bias, c.out[0]->raw());
    else
      qconv_ref(g_, e_, c.in[0]->data<int8_t>(), w, bias, c.out[0]->raw());
  }

 private:
  ConvGeom g_;
  Int8Epilogue e_;
};

dt dnnl_type(DType t) {
  switch (t) {
    case DType::u8:
      return dt::u8;
    case DType::i8:
      return dt::s8;
    default:
      return dt::f32;
  }
}

class QConv2dDnnl final : public Kernel {
 public:
  explicit QConv2dDnnl(const KernelSetup& s) : h_(dnnl_of(s.ctx)) {
    const ConvGeom g = conv_geom(s.node, s.in[0], s.in[1]);
    const Int8Epilogue e = Int8Epilogue::of(s.node, g.K);
    has_bias_ = s.node.inputs.size() > 2 && s.node.inputs[2] >= 0;
    const auto pads = s.node.attrs.get_ints("pads", {0, 0, 0, 0});
    const memory::dims strides{g.sh, g.sw}, dil{g.dh - 1, g.dw - 1}, pad_l{g.pt, g.pl},
        pad_r{pads[2], pads[3]};
    const memory::desc src = nhwc_desc({g.N, g.C, g.H, g.W}, dnnl_type(s.in[0].dtype));
    const memory::desc dst = nhwc_desc({g.N, g.K, g.OH, g.OW}, dnnl_type(e.out));
    memory::dims wdims;
    if (g.groups > 1) {
      wdims = {g.groups, g.K / g.groups, g.C / g.groups, g.R, g.S};
      user_w_ = memory::desc(wdims, dt::s8, memory::format_tag::goihw);
    } else {
      wdims = {g.K, g.C, g.R, g.S};
      user_w_ = memory::desc(wdims, dt::s8, memory::format_tag::oihw);
    }
    const memory::desc wany(wdims, dt::s8, memory::format_tag::any);
    const memory::desc bias = has_bias_ ? plain_desc({g.K}) : memory::desc();
    pd_ = dnnl::convolution_forward::primitive_desc(
        {dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, wany, bias,
         dst, strides, dil, pad_l, pad_r},
        e.dnnl_attr(1 << 1), h_.engine);
    prim_ = dnnl::convolution_forward(pd_);
    w_ = memory(pd_.weights_desc(), h_.engine);
  }

  size_t workspace_bytes() const override { return pd_.scratchpad_desc().get_size(); }

  void forward(const ForwardCall& c) override {
    if (!w_ready_) {  // the weights are a constant: reorder them once
      memory user = as_memory(user_w_, h_, *c.in[1]);
      dnnl::reorder(user, w_).execute(h_.stream, user, w_);
      w_ready_ = true;
    }
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, as_memory(pd_.src_desc(), h_, *c.in[0])},
        {DNNL_ARG_WEIGHTS, w_},
        {DNNL_ARG_DST, as_memory(pd_.dst_desc(), h_, *c.out[0])},
        {DNNL_ARG_SCRATCHPAD, memory(pd_.scratchpad_desc(), h_.engine, c.workspace)}};
    if (has_bias_) args[DNNL_ARG_BIAS] = as_memory(pd_.bias_desc(), h_, *c.in[2]);
    prim_.execute(h_.stream, args);
    h_.stream.wait();
  }

  std::string impl() const { return pd_.impl_info_str(); }

 private:
  DnnlHandles& h_;
  bool has_bias_ = false;
  bool w_ready_ = false;
  memory::desc user_w_;
  memory w_;
  dnnl::convolution_forward::primitive_desc pd_;
  dnnl::convolution_forward prim_;
};

std::unique_ptr<Kernel> make_qconv2d_dnnl(const KernelSetup& s) {
  return std::make_unique<QConv2dDnnl>(s);
}

}  // namespace

void register_qconv2d(OpRegistry& reg) {
  OpDef d;
  d.type = "qconv2d";
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.nondiff_inputs = {0, 1, 2};
  d.infer = infer;
  d.macs = macs;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_qconv2d_dnnl;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<QConv2dRef>;
  reg.add(std::move(d));
}

}  // namespace qf
