// max_pool2d / avg_pool2d on oneDNN (math in nn/ops/pool2d/pool2d.h, semantics in
// nn/ops/pool2d/pool2d_ref.h), and the choice between it and the average-pooling OpenMP loops
// (nn/ops/pool2d/pool2d_cpu_loops.cpp).
//
// oneDNN pooling on channels-last memory; max pooling keeps oneDNN's workspace (the position of
// each window's maximum) in the kernel, allocated at creation, for backward. oneDNN's max pooling
// ignores padding and, on ties, keeps the first maximum in row-major window order (the tests check
// both against the reference), and its exclude-padding average divides by the number of data
// elements: PyTorch's semantics. ceil_mode is expressed as extra bottom/right padding.
//
// One case differs: with count_include_pad and ceil_mode windows that run past the explicit
// bottom/right padding, oneDNN divides by kh*kw where PyTorch counts only the padded input; those
// nodes run on the loops. oneDNN against those loops (and the max-pooling loops they replaced),
// measured on the 2-core AVX-512 machine, one thread, ms forward/backward:
//   max (16, 64, 112, 112) k3 s2 p1    oneDNN 3.2 / 3.7    loops 7.0 / 7.5
//   max (32, 128, 28, 28)  k2 s2       oneDNN 0.25 / 0.37  loops 0.84 / 1.5
//   avg (32, 64, 56, 56)   k2 s2       oneDNN 0.58 / 0.93  loops 1.6 / 1.6
#include "nn/kernels/cpu/dnnl_util.h"
#include "nn/ops/pool2d/pool2d.h"

namespace qf {
namespace {

using dnnl::memory;

class Pool2dDnnl final : public Kernel {
 public:
  Pool2dDnnl(const KernelSetup& s, bool avg)
      : h_(dnnl_of(s.ctx)), g_(pool_geom(s.node, s.in[0], avg)) {
    const memory::desc x = nhwc_desc({g_.N, g_.C, g_.H, g_.W});
    const memory::desc y = nhwc_desc({g_.N, g_.C, g_.OH, g_.OW});
    const dnnl::algorithm alg = !avg ? dnnl::algorithm::pooling_max
                                : g_.count_include_pad
                                    ? dnnl::algorithm::pooling_avg_include_padding
                                    : dnnl::algorithm::pooling_avg_exclude_padding;
    const memory::dims strides{g_.sh, g_.sw}, kernel{g_.KH, g_.KW}, pad_l{g_.pt, g_.pl};
    const memory::dims pad_r{bottom_right_pad(g_.H, g_.KH, g_.sh, g_.pt, g_.pb, g_.OH),
                             bottom_right_pad(g_.W, g_.KW, g_.sw, g_.pl, g_.pr, g_.OW)};
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    infer_pd_ = dnnl::pooling_forward::primitive_desc(
        {dnnl::prop_kind::forward_inference, alg, x, y, strides, kernel, pad_l, pad_r}, attr,
        h_.engine);
    infer_ = dnnl::pooling_forward(infer_pd_);
    ws_ = infer_pd_.scratchpad_desc().get_size();
    if (!s.training) return;
    train_pd_ = dnnl::pooling_forward::primitive_desc(
        {dnnl::prop_kind::forward_training, alg, x, y, strides, kernel, pad_l, pad_r}, attr,
        h_.engine);
    train_ = dnnl::pooling_forward(train_pd_);
    bwd_pd_ = dnnl::pooling_backward::primitive_desc({alg, x, y, strides, kernel, pad_l, pad_r},
                                                     attr, h_.engine, train_pd_);
    bwd_ = dnnl::pooling_backward(bwd_pd_);
    ws_ = std::max(
        {ws_, train_pd_.scratchpad_desc().get_size(), bwd_pd_.scratchpad_desc().get_size()});
    if (!avg) argmax_ = memory(train_pd_.workspace_desc(), h_.engine);
  }

  // Bottom (right) padding that makes oneDNN's size formula give `out`: the explicit padding, or
  // with ceil_mode the extra rows the last window reaches.
  static int64_t bottom_right_pad(int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1,
                                  int64_t out) {
    const int64_t floor_out = (in + p0 + p1 - k) / s + 1;
    return out == floor_out ? p1 : (out - 1) * s + k - in - p0;
  }

  size_t workspace_bytes() const override { return ws_; }

  void forward(const ForwardCall& c) override {
    const bool train = c.mode == Mode::train && train_;
    const auto& pd = train ? train_pd_ : infer_pd_;
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, as_memory(pd.src_desc(), h_, *c.in[0])},
        {DNNL_ARG_DST, as_memory(pd.dst_desc(), h_, *c.out[0])},
        {DNNL_ARG_SCRATCHPAD, memory(pd.scratchpad_desc(), h_.engine, c.workspace)}};
    if (train && argmax_) args[DNNL_ARG_WORKSPACE] = argmax_;
    (train ? train_ : infer_).execute(h_.stream, args);
    h_.stream.wait();
    trained_ = train;
  }

  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    QF_CHECK(trained_, "pooling backward needs a train-mode forward first");
    std::unordered_map<int, memory> args{
        {DNNL_ARG_DIFF_DST, as_memory(bwd_pd_.diff_dst_desc(), h_, *c.grad_out[0])},
        {DNNL_ARG_DIFF_SRC, as_memory(bwd_pd_.diff_src_desc(), h_, *c.grad_in[0])},
        {DNNL_ARG_SCRATCHPAD, memory(bwd_pd_.scratchpad_desc(), h_.engine, c.workspace)}};
    if (argmax_) args[DNNL_ARG_WORKSPACE] = argmax_;
    bwd_.execute(h_.stream, args);
    h_.stream.wait();
  }

 private:
  DnnlHandles& h_;
  PoolGeom g_;
  dnnl::pooling_forward::primitive_desc infer_pd_, train_pd_;
  dnnl::pooling_backward::primitive_desc bwd_pd_;
  dnnl::pooling_forward infer_, train_;
  dnnl::pooling_backward bwd_;
  memory argmax_;  // max pooling: oneDNN's workspace, written by the training forward
  size_t ws_ = 0;
  bool trained_ = false;
};

}  // namespace

std::unique_ptr<Kernel> make_max_pool2d_fast(const KernelSetup& s) {
  return std::make_unique<Pool2dDnnl>(s, false);
}

std::unique_ptr<Kernel> make_avg_pool2d_fast(const KernelSetup& s) {
  const PoolGeom g = pool_geom(s.node, s.in[0], true);
  const bool overflow =
      g.OH > (g.H + g.pt + g.pb - g.KH) / g.sh + 1 || g.OW > (g.W + g.pl + g.pr - g.KW) / g.sw + 1;
  if (g.count_include_pad && overflow) return make_avg_pool2d_loops(s);
  return std::make_unique<Pool2dDnnl>(s, true);
}

}  // namespace qf
