// conv2d on oneDNN: channels-last activations, weights reordered into whatever blocked layout the
// chosen implementation wants (reorder skipped when it wants the canonical one). Primitives are
// created once per node; scratch memory comes from the executor's workspace.
#include "nn/kernels/cpu/dnnl_util.h"
#include "nn/ops/conv2d/conv2d.h"

namespace qf {
namespace {

using dnnl::memory;
using tag = memory::format_tag;

class Conv2dDnnl final : public Kernel {
 public:
  explicit Conv2dDnnl(const KernelSetup& s) : h_(dnnl_of(s.ctx)) {
    const ConvGeom g = conv_geom(s.node, s.in[0], s.in[1]);
    has_bias_ = s.node.inputs.size() > 2 && s.node.inputs[2] >= 0;
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
    const auto prop =
        s.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    fwd_pd_ =
        dnnl::convolution_forward::primitive_desc({prop, dnnl::algorithm::convolution_direct, src,
                                                   wany, bias, dst, strides, dil, pad_l, pad_r},
                                                  attr, h_.engine);
    fwd_ = dnnl::convolution_forward(fwd_pd_);
    ws_ = fwd_pd_.scratchpad_desc().get_size();
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
    auto& st = h_.stream;
    const memory user_w = as_memory(user_w_, h_, *c.in[1]);
    const memory w = weights_for(fwd_w_, user_w, /*reorder=*/true);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, as_memory(fwd_pd_.src_desc(), h_, *c.in[0])},
        {DNNL_ARG_WEIGHTS, w},
        {DNNL_ARG_DST, as_memory(fwd_pd_.dst_desc(), h_, *c.out[0])},
        {DNNL_ARG_SCRATCHPAD, memory(fwd_pd_.scratchpad_desc(), h_.engine, c.workspace)}};
    if (has_bias_) args[DNNL_ARG_BIAS] = as_memory(fwd_pd_.bias_desc(), h_, *c.in[2]);
    fwd_.execute(st, args);
    st.wait();
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
  size_t ws_ = 0;
};

}  // namespace

std::unique_ptr<Kernel> make_conv2d_dnnl(const KernelSetup& s) {
  return std::make_unique<Conv2dDnnl>(s);
}

}  // namespace qf
