// conv2d on oneDNN: channels-last activations, weights reordered into whatever blocked layout the
// chosen implementation wants (reorder skipped when it wants the canonical one; done once when the
// weights never change, KernelSetup::constant_inputs, else on every forward). A fused epilogue
// (conv2d_epilogue.h) becomes post-ops: sum (the residual, which must then already be in the
// output: the executor writes the output over it when it can, else the kernel copies it there),
// then eltwise. Primitives are created once per node; scratch memory comes from the executor's
// workspace.
#include <cstring>

#include "nn/kernels/cpu/dnnl_util.h"
#include "nn/ops/conv2d/conv2d.h"
#include "nn/ops/conv2d/conv2d_dnnl.h"

namespace qf {

dnnl::post_ops conv_post_ops(const ConvEpilogue& e) {
  using dnnl::algorithm;
  dnnl::post_ops ops;
  if (e.residual) ops.append_sum(1.f);
  const float a = static_cast<float>(e.alpha), b = static_cast<float>(e.beta);
  if (e.activation == "relu") ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
  if (e.activation == "relu6") ops.append_eltwise(1.f, algorithm::eltwise_clip, 0.f, 6.f);
  if (e.activation == "clip") ops.append_eltwise(1.f, algorithm::eltwise_clip, a, b);
  if (e.activation == "hardswish") ops.append_eltwise(1.f, algorithm::eltwise_hardswish, 0.f, 0.f);
  if (e.activation == "hardsigmoid") {  // clip(alpha x + beta, 0, 1)
    ops.append_eltwise(1.f, algorithm::eltwise_linear, a, b);
    ops.append_eltwise(1.f, algorithm::eltwise_clip, 0.f, 1.f);
  }
  return ops;
}

namespace {

using dnnl::memory;
using tag = memory::format_tag;

class Conv2dDnnl final : public Kernel {
 public:
  explicit Conv2dDnnl(const KernelSetup& s) : h_(dnnl_of(s.ctx)) {
    check_conv_epilogue_for_inference(s);
    const ConvGeom g = conv_geom(s.node, s.in[0], s.in[1]);
    has_bias_ = s.node.inputs.size() > 2 && s.node.inputs[2] >= 0;
    constant_w_ = (s.constant_inputs >> 1) & 1u;
    const ConvEpilogue e = conv_epilogue(s.node);
    residual_ = e.residual;
    const memory::dims strides{g.sh, g.sw}, dil{g.dh - 1, g.dw - 1}, pad_l{g.pt, g.pl};
    const auto pads = s.node.attrs.get_ints("pads", {0, 0, 0, 0});
    const memory::dims pad_r{pads[2], pads[3]};
    const memory::desc src = nhwc_desc({g.N, g.C, g.H, g.W});
    const memory::desc dst = nhwc_desc({g.N, g.K, g.OH, g.OW});
    memory::dims wdims;
    if (g.groups > 1) {
      wdims = {g.groups, g.K / g.groups, g.C / g.groups, g.R, g.S};
      user_w_ = memory::desc(wdims, memory::data_type::f32, tag::goihw);
    } else {
      wdims = {g.K, g.C, g.R, g.S};
      user_w_ = memory::desc(wdims, memory::data_type::f32, tag::oihw);
    }
    const memory::desc wany(wdims, memory::data_type::f32, tag::any);
    const memory::desc bias = has_bias_ ? plain_desc({g.K}) : memory::desc();
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (e.any()) attr.set_post_ops(conv_post_ops(e));
    const auto prop =
        s.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    auto forward_pd = [&](dnnl::algorithm alg, const memory::desc& x, const memory::desc& y) {
      return dnnl::convolution_forward::primitive_desc(
          dnnl::convolution_forward::desc(prop, alg, x, wany, bias, y, strides, dil, pad_l, pad_r),
          attr, h_.engine);
    };
    if (!s.training && s.node.attrs.get_string("algorithm", "direct") == "winograd") {
      try {  // Winograd runs on oneDNN's blocked layout: the activations are reordered around it
        fwd_pd_ = forward_pd(dnnl::algorithm::convolution_winograd, any_like(src), any_like(dst));
        winograd_ = true;
      } catch (const dnnl::error&) {  // no Winograd implementation on this CPU: direct
      }
    }
    if (!winograd_) fwd_pd_ = forward_pd(dnnl::algorithm::convolution_direct, src, dst);
    fwd_ = dnnl::convolution_forward(fwd_pd_);
    ws_ = fwd_pd_.scratchpad_desc().get_size();
    if (winograd_) prepare_winograd(src, dst);
    fwd_w_ = make_weight_buffer(fwd_pd_.weights_desc());
    if (!s.training) return;
    bwd_d_pd_ = dnnl::convolution_backward_data::primitive_desc(
        {dnnl::algorithm::convolution_direct, src, wany, dst, strides, dil, pad_l, pad_r}, attr,
        h_.engine, fwd_pd_);
    bwd_d_ = dnnl::convolution_backward_data(bwd_d_pd_);
    bwd_w_pd_ = dnnl::convolution_backward_weights::primitive_desc(
        {dnnl::algorithm::convolution_direct, src, wany, bias, dst, strides, dil, pad_l, pad_r},
        attr, h_.engine, fwd_pd_);
    bwd_w_ = dnnl::convolution_backward_weights(bwd_w_pd_);
    ws_ = std::max(
        {ws_, bwd_d_pd_.scratchpad_desc().get_size(), bwd_w_pd_.scratchpad_desc().get_size()});
    bwd_d_reuses_fwd_w_ = bwd_d_pd_.weights_desc() == fwd_pd_.weights_desc();
    if (!bwd_d_reuses_fwd_w_) bwd_d_w_ = make_weight_buffer(bwd_d_pd_.weights_desc());
    diff_w_ = make_weight_buffer(bwd_w_pd_.diff_weights_desc());
  }

  size_t workspace_bytes() const override { return ws_; }

  void forward(const ForwardCall& c) override {
    const memory user_w = as_memory(user_w_, h_, *c.in[1]);
    const memory w = weights_for(fwd_w_, user_w, /*reorder=*/!(constant_w_ && w_ready_));
    w_ready_ = true;
    if (winograd_) return forward_winograd(c, w);
    if (residual_) {  // the sum post-op adds what the output holds
      const Tensor& r = *c.in[kConvResidualInput];
      if (r.raw() != c.out[0]->raw()) std::memcpy(c.out[0]->raw(), r.raw(), r.nbytes());
    }
    execute_forward(as_memory(fwd_pd_.src_desc(), h_, *c.in[0]), w,
                    as_memory(fwd_pd_.dst_desc(), h_, *c.out[0]), c);
  }

  void backward(const BackwardCall& c) override {
    auto& st = h_.stream;
    const memory dst = as_memory(fwd_pd_.dst_desc(), h_, *c.grad_out[0]);
    if (c.grad_in[0]) {
      // The forward pass already reordered the weights; reuse them if the layouts agree.
      const memory user_w = as_memory(user_w_, h_, *c.in[1]);
      const memory w = bwd_d_reuses_fwd_w_ ? weights_for(fwd_w_, user_w, /*reorder=*/false)
                                           : weights_for(bwd_d_w_, user_w, /*reorder=*/true);
      bwd_d_.execute(
          st, {{DNNL_ARG_DIFF_DST, dst},
               {DNNL_ARG_WEIGHTS, w},
               {DNNL_ARG_DIFF_SRC, as_memory(bwd_d_pd_.diff_src_desc(), h_, *c.grad_in[0])},
               {DNNL_ARG_SCRATCHPAD, memory(bwd_d_pd_.scratchpad_desc(), h_.engine, c.workspace)}});
    }
    const bool want_w = c.grad_in[1] != nullptr;
    const bool want_b = has_bias_ && c.grad_in.size() > 2 && c.grad_in[2];
    if (want_w || want_b) {
      // Without a weight gradient to deliver (frozen weights), oneDNN still writes one: into
      // diff_w_.
      const bool direct = want_w && !diff_w_;
      const memory dw = direct ? as_memory(user_w_, h_, *c.grad_in[1]) : diff_w_sink();
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, as_memory(bwd_w_pd_.src_desc(), h_, *c.in[0])},
          {DNNL_ARG_DIFF_DST, dst},
          {DNNL_ARG_DIFF_WEIGHTS, dw},
          {DNNL_ARG_SCRATCHPAD, memory(bwd_w_pd_.scratchpad_desc(), h_.engine, c.workspace)}};
      if (has_bias_) {
        // oneDNN always computes the bias gradient when the primitive has a bias.
        args[DNNL_ARG_DIFF_BIAS] =
            want_b ? as_memory(bwd_w_pd_.diff_bias_desc(), h_, *c.grad_in[2]) : bias_sink();
      }
      bwd_w_.execute(st, args);
      if (want_w && !direct) {
        memory user_dw = as_memory(user_w_, h_, *c.grad_in[1]);
        dnnl::reorder(diff_w_, user_dw).execute(st, diff_w_, user_dw);
      }
    }
    st.wait();
  }

 private:
  static size_t round_up(size_t bytes) { return (bytes + 63) / 64 * 64; }
  static memory::desc any_like(const memory::desc& d) {
    return memory::desc(d.dims(), d.data_type(), tag::any);
  }

  void execute_forward(const memory& x, const memory& w, const memory& y, const ForwardCall& c) {
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, x},
        {DNNL_ARG_WEIGHTS, w},
        {DNNL_ARG_DST, y},
        {DNNL_ARG_SCRATCHPAD, memory(fwd_pd_.scratchpad_desc(), h_.engine, c.workspace)}};
    if (has_bias_) args[DNNL_ARG_BIAS] = as_memory(fwd_pd_.bias_desc(), h_, *c.in[2]);
    fwd_.execute(h_.stream, args);
    h_.stream.wait();
  }

  // The reorders between the NHWC tensors and the blocked copies Winograd runs on, which live in
  // the workspace after the primitive's scratchpad.
  void prepare_winograd(const memory::desc& src, const memory::desc& dst) {
    src_ = src;
    dst_ = dst;
    to_blocked_x_ = dnnl::reorder(
        dnnl::reorder::primitive_desc(h_.engine, src, h_.engine, fwd_pd_.src_desc()));
    to_blocked_y_ = dnnl::reorder(
        dnnl::reorder::primitive_desc(h_.engine, dst, h_.engine, fwd_pd_.dst_desc()));
    from_blocked_y_ = dnnl::reorder(
        dnnl::reorder::primitive_desc(h_.engine, fwd_pd_.dst_desc(), h_.engine, dst));
    blocked_x_at_ = round_up(ws_);
    blocked_y_at_ = round_up(blocked_x_at_ + fwd_pd_.src_desc().get_size());
    ws_ = blocked_y_at_ + fwd_pd_.dst_desc().get_size();
  }

  // x and y pass through blocked copies in the workspace (after the primitive's scratchpad).
  void forward_winograd(const ForwardCall& c, const memory& w) {
    auto& st = h_.stream;
    char* ws = static_cast<char*>(c.workspace);
    memory x(src_, h_.engine, c.in[0]->raw()), y(dst_, h_.engine, c.out[0]->raw());
    memory xb(fwd_pd_.src_desc(), h_.engine, ws + blocked_x_at_);
    memory yb(fwd_pd_.dst_desc(), h_.engine, ws + blocked_y_at_);
    to_blocked_x_.execute(st, x, xb);
    if (residual_) {  // the sum post-op adds what the output holds
      memory r(dst_, h_.engine, c.in[kConvResidualInput]->raw());
      to_blocked_y_.execute(st, r, yb);
    }
    execute_forward(xb, w, yb, c);
    from_blocked_y_.execute(st, yb, y);
    st.wait();
  }

  memory make_weight_buffer(const memory::desc& d) {
    if (d == user_w_) return memory();  // canonical layout: use the tensor itself
    return memory(d, h_.engine);
  }
  // The weights in the primitive's layout: `buf` after a reorder from the user's tensor, or the
  // user's tensor itself when the primitive takes the canonical layout (buf empty).
  memory weights_for(memory& buf, memory user, bool reorder) {
    if (!buf) return user;
    if (reorder) dnnl::reorder(user, buf).execute(h_.stream, user, buf);
    return buf;
  }
  memory diff_w_sink() {
    if (!diff_w_) diff_w_ = memory(bwd_w_pd_.diff_weights_desc(), h_.engine);
    return diff_w_;
  }
  memory bias_sink() {
    if (!bias_sink_) bias_sink_ = memory(bwd_w_pd_.diff_bias_desc(), h_.engine);
    return bias_sink_;
  }

  DnnlHandles& h_;
  bool has_bias_ = false;
  memory::desc user_w_;
  dnnl::convolution_forward::primitive_desc fwd_pd_;
  dnnl::convolution_backward_data::primitive_desc bwd_d_pd_;
  dnnl::convolution_backward_weights::primitive_desc bwd_w_pd_;
  dnnl::convolution_forward fwd_;
  dnnl::convolution_backward_data bwd_d_;
  dnnl::convolution_backward_weights bwd_w_;
  memory fwd_w_, bwd_d_w_, diff_w_, bias_sink_;
  bool bwd_d_reuses_fwd_w_ = false;
  bool constant_w_ = false, w_ready_ = false, residual_ = false;
  // Winograd (inference, attr algorithm): the layouts and reorders around the blocked primitive.
  bool winograd_ = false;
  memory::desc src_, dst_;
  dnnl::reorder to_blocked_x_, to_blocked_y_, from_blocked_y_;
  size_t blocked_x_at_ = 0, blocked_y_at_ = 0;
  size_t ws_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_conv2d_dnnl(const KernelSetup& s) {
  return std::make_unique<Conv2dDnnl>(s);
}

}  // namespace qf
