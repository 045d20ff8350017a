// CUDA kernel of batch_norm (math and running-statistics semantics:
// nn/ops/batch_norm/batch_norm.h), on the backend's own channels-last kernels (batch_norm.cu):
// per-channel statistics by deterministic two-stage reductions, then one elementwise pass;
// running_var takes the unbiased variance, PyTorch's convention. The kernel keeps the mean and 1 /
// sqrt(var + eps) of its last forward in buffers of its own (allocated when it is made), which
// backward reads.
//
// Not cuDNN: its batch normalisation on NHWC float32 (cudnnBatchNormalizationForwardTrainingEx /
// BackwardEx, CUDNN_BATCHNORM_SPATIAL, cuDNN 9.19 on an H100) took 80% of a MobileNetV1 training
// step, 44.2 + 66.7 ms per step for 27 layers at batch 64 against 3.7 + 2.9 ms for these kernels:
// MobileNetV1 batch 256 trained at 429 img/s with it and 2920 img/s without (bench/RESULTS.md).
#include "nn/ops/batch_norm/batch_norm_cuda.h"

#include "nn/kernels/cuda/kernel_util.h"
#include "nn/ops/batch_norm/batch_norm.h"

namespace qf::cuda {
namespace {

class BatchNormCuda final : public Kernel {
 public:
  explicit BatchNormCuda(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)),
        name_(s.node.name),
        g_(bn_geom(s.node, s.in)),
        M_(g_.count()),
        C_(static_cast<int>(g_.C)),
        chunks_(reduction_chunks(M_, C_, ctx_.multiprocessors())) {
    require_f32(s, {0, 1, 2, 3, 4});
    // SyncBatchNorm's cross-rank sums are written for the CPU kernels only; training with
    // per-rank statistics instead would be a silent change of what dist.sync_bn means.
    if (bn_sync_comm(s, g_))
      throw_input_error("dist.sync_bn: SyncBatchNorm runs on CPU devices only (", name_,
                        "); train with dist.sync_bn false, or on the CPU");
    mean_ = device_floats(ctx_, C_);
    istd_ = device_floats(ctx_, C_);
    scale_ = device_floats(ctx_, C_);
    partial_ = device_floats(ctx_, int64_t{3} * chunks_ * C_);
    if (!s.training) return;
    dgamma_sink_ = device_floats(ctx_, C_);
    dbeta_sink_ = device_floats(ctx_, C_);
  }

  void forward(const ForwardCall& c) override {
    batch_ = c.mode == Mode::train && !g_.use_running_stats;
    if (batch_ && M_ < 2)
      throw_input_error("node '", name_, "' (batch_norm): training needs more than one value per ",
                        "channel, input has ", M_);
    const float* x = in_f32(c.in[0]);
    const float *gamma = in_f32(c.in[1]), *beta = in_f32(c.in[2]);
    float *rmean = out_f32(c.in[3]), *rvar = out_f32(c.in[4]);
    float* y = out_f32(c.out[0]);
    const float eps = static_cast<float>(g_.epsilon), mom = static_cast<float>(g_.momentum);
    cudaStream_t st = ctx_.stream();
    if (!batch_) {
      bn_running_stats(C_, gamma, rmean, rvar, eps, mean(), istd(), scale(), st);
      bn_apply(x, y, M_, C_, mean(), scale(), beta, st);
      return;
    }
    bn_batch_stats(x, M_, C_, chunks_, gamma, rmean, rvar, mom, eps, mean(), istd(), scale(),
                   out_f32(&partial_), st);
    bn_apply(x, y, M_, C_, mean(), scale(), beta, st);
  }

  void backward(const BackwardCall& c) override {
    float* dx = out_f32(c.grad_in[0]);
    if (!dx && !c.grad_in[1] && !c.grad_in[2]) return;
    float* dgamma = c.grad_in[1] ? out_f32(c.grad_in[1]) : out_f32(&dgamma_sink_);
    float* dbeta = c.grad_in[2] ? out_f32(c.grad_in[2]) : out_f32(&dbeta_sink_);
    QF_CHECK(dgamma_sink_.defined(), "batch_norm backward on a kernel made for inference");
    bn_backward(in_f32(c.in[0]), in_f32(c.grad_out[0]), dx, M_, C_, chunks_, in_f32(c.in[1]),
                mean(), istd(), batch_, dgamma, dbeta, out_f32(&partial_), ctx_.stream());
  }

 private:
  float* mean() { return mean_.data<float>(); }
  float* istd() { return istd_.data<float>(); }
  float* scale() { return scale_.data<float>(); }

  CudaContext& ctx_;
  std::string name_;
  BnGeom g_;
  int64_t M_;
  int C_;
  int chunks_;
  Tensor mean_, istd_, scale_, partial_, dgamma_sink_, dbeta_sink_;
  bool batch_ = false;
};

}  // namespace

void register_batch_norm_cuda(OpRegistry& reg) {
  reg.set_kernel("batch_norm", KernelKind::cuda, make_kernel<BatchNormCuda>);
}

}  // namespace qf::cuda
