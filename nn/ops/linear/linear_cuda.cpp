// CUDA kernel of linear on cuBLAS (math: nn/ops/linear/linear.h). cuBLAS is column-major: a
// row-major (r, c) matrix a is, to cuBLAS, its (c, r) transpose a_c. With x (N, in), w (out, in)
// and y (N, out) row-major:
//   y_c  (out x N)  = w_c^T x_c     sgemm(T, N, m = out, n = N,   k = in)
//   dx_c (in x N)   = w_c dy_c      sgemm(N, N, m = in,  n = N,   k = out)
//   dw_c (in x out) = x_c dy_c^T    sgemm(N, T, m = in,  n = out, k = N)
// The bias is added by a per-column kernel and its gradient is a deterministic column sum of dy.
// TF32 follows the context (cublasSetMathMode).
#include "nn/kernels/cuda/kernel_util.h"
#include "nn/ops/linear/linear.h"

namespace qf::cuda {
namespace {

int as_int(int64_t v) {
  QF_CHECK(v <= INT32_MAX, "linear dimension ", v, " exceeds int32");
  return static_cast<int>(v);
}

class LinearCublas final : public Kernel {
 public:
  explicit LinearCublas(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)), g_(linear_geom(s.node, s.in)) {
    require_f32(s, {0, 1, 2});
    N_ = as_int(g_.N);
    in_ = as_int(g_.in);
    out_ = as_int(g_.out);
    if (g_.bias && s.training) {
      chunks_ = reduction_chunks(g_.N, out_, ctx_.multiprocessors());
      partial_ = device_floats(ctx_, int64_t{chunks_} * out_);
    }
  }

  void forward(const ForwardCall& c) override {
    static const float one = 1.f, zero = 0.f;
    QF_CUBLAS_CHECK(ctx_.blas().sgemm(ctx_.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, out_, N_, in_, &one,
                                      in_f32(c.in[1]), in_, in_f32(c.in[0]), in_, &zero,
                                      out_f32(c.out[0]), out_));
    if (g_.bias) add_channel_bias(out_f32(c.out[0]), in_f32(c.in[2]), N_, out_, ctx_.stream());
  }

  void backward(const BackwardCall& c) override {
    static const float one = 1.f, zero = 0.f;
    const float* dy = in_f32(c.grad_out[0]);
    if (c.grad_in[0])
      QF_CUBLAS_CHECK(ctx_.blas().sgemm(ctx_.cublas(), CUBLAS_OP_N, CUBLAS_OP_N, in_, N_, out_,
                                        &one, in_f32(c.in[1]), in_, dy, out_, &zero,
                                        out_f32(c.grad_in[0]), in_));
    if (c.grad_in[1])
      QF_CUBLAS_CHECK(ctx_.blas().sgemm(ctx_.cublas(), CUBLAS_OP_N, CUBLAS_OP_T, in_, out_, N_,
                                        &one, in_f32(c.in[0]), in_, dy, out_, &zero,
                                        out_f32(c.grad_in[1]), in_));
    if (g_.bias && c.grad_in.size() > 2 && c.grad_in[2]) {
      QF_CHECK(partial_.defined(), "linear backward on a kernel made for inference");
      column_sums(dy, out_f32(c.grad_in[2]), N_, out_, chunks_, out_f32(&partial_), ctx_.stream());
    }
  }

 private:
  CudaContext& ctx_;
  LinearGeom g_;
  int N_, in_, out_;
  int chunks_ = 1;
  Tensor partial_;
};

}  // namespace

void register_linear_cuda(OpRegistry& reg) {
  reg.set_kernel("linear", KernelKind::cuda, make_kernel<LinearCublas>);
}

}  // namespace qf::cuda
