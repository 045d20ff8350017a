// CUDA kernel of conv2d on cuDNN 9 (math: nn/ops/conv2d/conv2d.h; forward, backward data, backward
// filter).
//
// Layouts: activations are channels-last, so x and y are NHWC tensors. The weight parameter is
// OIHW (K, C/g, R, S) as PyTorch keeps it; cuDNN's NHWC kernels take an NHWC (KRSC) filter, so the
// kernel keeps a KRSC copy that each forward refreshes, and backward filter writes KRSC that is
// reordered into the OIHW gradient. When R = S = 1 or C/g = 1 (pointwise and depthwise
// convolutions — every layer of MobileNet but the first) both layouts hold the same bytes and no
// copy is made. Asymmetric padding (top != bottom or left != right), which cuDNN cannot express,
// runs on an explicitly zero-padded copy of x.
//
// Algorithms: chosen per shape with cudnnFind*Algorithm (each candidate is run and timed), among
// those needing at most 1 GiB of workspace, preferring deterministic ones for the two backward
// passes (so that a run is reproducible on one GPU), and cached in the context, so equal layers
// and later executors reuse the choice. The math mode follows ContextOptions::tf32: TF32 tensor
// cores allowed (CUDNN_DEFAULT_MATH) or plain FP32 FMA (CUDNN_FMA_MATH); each direction gets the
// math type its chosen algorithm was timed with. The executor's workspace holds the largest of
// the three workspaces.
#include "nn/ops/conv2d/conv2d_cuda.h"

#include "nn/kernels/cuda/kernel_util.h"
#include "nn/ops/conv2d/conv2d.h"

namespace qf::cuda {
namespace {

constexpr size_t kMaxWorkspace = size_t{1} << 30;

template <class Perf>
int pick(const Perf* perf, int n, bool prefer_deterministic) {
  int best = -1;
  for (int i = 0; i < n; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > kMaxWorkspace) continue;
    if (prefer_deterministic && perf[i].determinism != CUDNN_DETERMINISTIC) {
      if (best < 0) best = -2 - i;  // remember the fastest non-deterministic one
      continue;
    }
    return i;  // cuDNN returns them fastest first
  }
  return best <= -2 ? -2 - best : -1;
}

int as_int(int64_t v) {
  QF_CHECK(v <= INT32_MAX, "convolution dimension ", v, " exceeds int32");
  return static_cast<int>(v);
}

class Conv2dCudnn final : public Kernel {
 public:
  explicit Conv2dCudnn(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)), g_(conv_geom(s.node, s.in[0], s.in[1])) {
    require_f32(s, {0, 1, 2});
    QF_CHECK(!conv_epilogue(s.node).any(), "conv2d '", s.node.name,
             "': the CUDA kernel runs no fused epilogue (the inference fusion is CPU-only)");
    has_bias_ = s.node.inputs.size() > 2 && s.node.inputs[2] >= 0;
    const auto pads = s.node.attrs.get_ints("pads", {0, 0, 0, 0});
    pb_ = pads[2];
    pr_ = pads[3];
    explicit_pad_ = g_.pt != pb_ || g_.pl != pr_;
    Hp_ = g_.H + (explicit_pad_ ? g_.pt + pb_ : 0);
    Wp_ = g_.W + (explicit_pad_ ? g_.pl + pr_ : 0);
    const int64_t cg = g_.C / g_.groups, RS = g_.R * g_.S;
    reorder_ = RS > 1 && cg > 1;

    QF_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x_desc_));
    QF_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y_desc_));
    QF_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w_desc_));
    for (auto& d : conv_desc_) QF_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d));
    QF_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x_desc_, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT,
                                              as_int(g_.N), as_int(g_.C), as_int(Hp_),
                                              as_int(Wp_)));
    QF_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y_desc_, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT,
                                              as_int(g_.N), as_int(g_.K), as_int(g_.OH),
                                              as_int(g_.OW)));
    QF_CUDNN_CHECK(cudnnSetFilter4dDescriptor(w_desc_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NHWC,
                                              as_int(g_.K), as_int(cg), as_int(g_.R),
                                              as_int(g_.S)));
    const int ph = explicit_pad_ ? 0 : as_int(g_.pt), pw = explicit_pad_ ? 0 : as_int(g_.pl);
    for (auto& d : conv_desc_) {
      QF_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d, ph, pw, as_int(g_.sh), as_int(g_.sw),
                                                     as_int(g_.dh), as_int(g_.dw),
                                                     CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
      QF_CUDNN_CHECK(cudnnSetConvolutionGroupCount(d, as_int(g_.groups)));
      QF_CUDNN_CHECK(
          cudnnSetConvolutionMathType(d, ctx_.tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
    }
    int n, k, oh, ow;
    QF_CUDNN_CHECK(
        cudnnGetConvolution2dForwardOutputDim(conv_desc_[0], x_desc_, w_desc_, &n, &k, &oh, &ow));
    QF_CHECK(n == g_.N && k == g_.K && oh == g_.OH && ow == g_.OW, "cuDNN output ", n, "x", k, "x",
             oh, "x", ow, " differs from the op's shape for node '", s.node.name, "'");

    if (reorder_) w_krsc_ = device_floats(ctx_, g_.K * cg * RS);
    if (explicit_pad_) x_pad_ = device_floats(ctx_, g_.N * Hp_ * Wp_ * g_.C);
    if (s.training) {
      if (reorder_) dw_krsc_ = device_floats(ctx_, g_.K * cg * RS);
      if (explicit_pad_) dx_pad_ = device_floats(ctx_, g_.N * Hp_ * Wp_ * g_.C);
      if (has_bias_) {
        chunks_ = reduction_chunks(g_.N * g_.OH * g_.OW, as_int(g_.K), ctx_.multiprocessors());
        partial_ = device_floats(ctx_, int64_t{chunks_} * g_.K);
      }
    }
    choose_algorithms(s.training);
  }

  ~Conv2dCudnn() override {
    if (x_desc_) cudnnDestroyTensorDescriptor(x_desc_);
    if (y_desc_) cudnnDestroyTensorDescriptor(y_desc_);
    if (w_desc_) cudnnDestroyFilterDescriptor(w_desc_);
    for (auto d : conv_desc_)
      if (d) cudnnDestroyConvolutionDescriptor(d);
  }

  size_t workspace_bytes() const override {
    return std::max(
        {a_.fwd_ws, a_.has_backward ? a_.bwd_data_ws : 0, a_.has_backward ? a_.bwd_filter_ws : 0});
  }

  void forward(const ForwardCall& c) override {
    cudaStream_t st = ctx_.stream();
    static const float one = 1.f, zero = 0.f;
    QF_CUDNN_CHECK(cudnnConvolutionForward(ctx_.cudnn(), &one, x_desc_, x_for(*c.in[0]), w_desc_,
                                           w_for(*c.in[1]), conv_desc_[0], a_.fwd, c.workspace,
                                           a_.fwd_ws, &zero, y_desc_, c.out[0]->raw()));
    if (has_bias_)
      add_channel_bias(out_f32(c.out[0]), in_f32(c.in[2]), g_.N * g_.OH * g_.OW, as_int(g_.K), st);
  }

  void backward(const BackwardCall& c) override {
    QF_CHECK(a_.has_backward, "conv2d backward on a kernel made for inference");
    cudaStream_t st = ctx_.stream();
    static const float one = 1.f, zero = 0.f;
    const void* dy = c.grad_out[0]->raw();
    if (c.grad_in[0]) {
      // The KRSC weights of this step's forward are still in w_krsc_.
      const void* w = reorder_ ? w_krsc_.raw() : c.in[1]->raw();
      void* dx = explicit_pad_ ? dx_pad_.raw() : c.grad_in[0]->raw();
      QF_CUDNN_CHECK(cudnnConvolutionBackwardData(ctx_.cudnn(), &one, w_desc_, w, y_desc_, dy,
                                                  conv_desc_[1], a_.bwd_data, c.workspace,
                                                  a_.bwd_data_ws, &zero, x_desc_, dx));
      if (explicit_pad_)
        crop_nhwc(dx_pad_.data<float>(), out_f32(c.grad_in[0]), g_.N, g_.H, g_.W, g_.C, g_.pt,
                  g_.pl, Hp_, Wp_, st);
    }
    if (c.grad_in[1]) {
      // With explicit padding x_pad_ still holds this step's padded input.
      const void* x = explicit_pad_ ? x_pad_.raw() : c.in[0]->raw();
      void* dw = reorder_ ? dw_krsc_.raw() : c.grad_in[1]->raw();
      QF_CUDNN_CHECK(cudnnConvolutionBackwardFilter(ctx_.cudnn(), &one, x_desc_, x, y_desc_, dy,
                                                    conv_desc_[2], a_.bwd_filter, c.workspace,
                                                    a_.bwd_filter_ws, &zero, w_desc_, dw));
      if (reorder_)
        krsc_to_kcrs(dw_krsc_.data<float>(), out_f32(c.grad_in[1]), as_int(g_.K),
                     as_int(g_.C / g_.groups), as_int(g_.R * g_.S), st);
    }
    if (has_bias_ && c.grad_in.size() > 2 && c.grad_in[2])
      column_sums(in_f32(c.grad_out[0]), out_f32(c.grad_in[2]), g_.N * g_.OH * g_.OW, as_int(g_.K),
                  chunks_, out_f32(&partial_), st);
  }

 private:
  const void* x_for(const Tensor& x) {
    if (!explicit_pad_) return x.raw();
    pad_nhwc(x.data<float>(), x_pad_.data<float>(), g_.N, g_.H, g_.W, g_.C, g_.pt, g_.pl, Hp_, Wp_,
             ctx_.stream());
    return x_pad_.raw();
  }
  const void* w_for(const Tensor& w) {
    if (!reorder_) return w.raw();
    kcrs_to_krsc(w.data<float>(), w_krsc_.data<float>(), as_int(g_.K), as_int(g_.C / g_.groups),
                 as_int(g_.R * g_.S), ctx_.stream());
    return w_krsc_.raw();
  }

  std::string shape_key(bool training) const {
    return str_cat(g_.N, ",", g_.C, ",", Hp_, ",", Wp_, ",", g_.K, ",", g_.R, ",", g_.S, ",",
                   explicit_pad_ ? 0 : g_.pt, ",", explicit_pad_ ? 0 : g_.pl, ",", g_.sh, ",",
                   g_.sw, ",", g_.dh, ",", g_.dw, ",", g_.groups, ",tf32=", ctx_.tf32(),
                   training ? ",train" : ",infer");
  }

  void choose_algorithms(bool training) {
    const std::string key = shape_key(training);
    if (const ConvAlgos* hit = ctx_.find_conv_algos(key)) {
      a_ = *hit;
      apply_math_types();
      return;
    }
    cudnnHandle_t h = ctx_.cudnn();
    int n = 0;
    cudnnConvolutionFwdAlgoPerf_t fwd[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    QF_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithm(h, x_desc_, w_desc_, conv_desc_[0], y_desc_,
                                                        CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, fwd));
    int i = pick(fwd, n, false);
    QF_CHECK(i >= 0, "cuDNN has no forward algorithm for convolution ", key);
    a_.fwd = fwd[i].algo;
    a_.fwd_ws = fwd[i].memory;
    a_.fwd_math = fwd[i].mathType;
    if (training) {
      cudnnConvolutionBwdDataAlgoPerf_t bd[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
      QF_CUDNN_CHECK(
          cudnnFindConvolutionBackwardDataAlgorithm(h, w_desc_, y_desc_, conv_desc_[1], x_desc_,
                                                    CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, bd));
      i = pick(bd, n, true);
      QF_CHECK(i >= 0, "cuDNN has no backward-data algorithm for convolution ", key);
      a_.bwd_data = bd[i].algo;
      a_.bwd_data_ws = bd[i].memory;
      a_.bwd_data_math = bd[i].mathType;
      cudnnConvolutionBwdFilterAlgoPerf_t bf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
      QF_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithm(
          h, x_desc_, y_desc_, conv_desc_[2], w_desc_, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n,
          bf));
      i = pick(bf, n, true);
      QF_CHECK(i >= 0, "cuDNN has no backward-filter algorithm for convolution ", key);
      a_.bwd_filter = bf[i].algo;
      a_.bwd_filter_ws = bf[i].memory;
      a_.bwd_filter_math = bf[i].mathType;
      a_.has_backward = true;
    }
    ctx_.store_conv_algos(key, a_);
    apply_math_types();
  }

  void apply_math_types() {
    QF_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_[0], a_.fwd_math));
    if (!a_.has_backward) return;
    QF_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_[1], a_.bwd_data_math));
    QF_CUDNN_CHECK(cudnnSetConvolutionMathType(conv_desc_[2], a_.bwd_filter_math));
  }

  CudaContext& ctx_;
  ConvGeom g_;
  int64_t pb_ = 0, pr_ = 0, Hp_ = 0, Wp_ = 0;
  bool has_bias_ = false, explicit_pad_ = false, reorder_ = false;
  int chunks_ = 1;
  cudnnTensorDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  cudnnConvolutionDescriptor_t conv_desc_[3] = {};  // forward, backward data, backward filter
  ConvAlgos a_{};
  Tensor w_krsc_, dw_krsc_, x_pad_, dx_pad_, partial_;
};

}  // namespace

void register_conv2d_cuda(OpRegistry& reg) {
  reg.set_kernel("conv2d", KernelKind::cuda, make_kernel<Conv2dCudnn>);
}

}  // namespace qf::cuda
