// CUDA kernel of batch_norm (math and running-statistics semantics: nn/ops/batch_norm.h).
//
// Training with batch statistics on 4-D input runs cuDNN's batch normalisation
// (cudnnBatchNormalizationForwardTrainingEx / BackwardEx, CUDNN_BATCHNORM_SPATIAL, NHWC): cuDNN
// updates running_mean with momentum m and running_var with the unbiased variance, PyTorch's
// convention, and saves the batch mean and 1 / sqrt(var + eps) for backward. Everything else — 2-D
// input, eval mode, frozen statistics (use_running_stats 1, whose backward treats the statistics as
// constants, which cuDNN's backward cannot), and any shape cuDNN reports unsupported — runs the
// backend's own kernels (batch_norm.cu), which implement the same formulas with deterministic
// reductions. Either way the kernel keeps the mean and istd of its last forward in buffers of its
// own (allocated when it is made), which backward reads.
#include "nn/kernels/cuda/kernel_util.h"
#include "nn/ops/batch_norm.h"

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
      throw_input_error("dist.sync_bn: SyncBatchNorm runs on CPU devices only (",
                        name_, "); train with dist.sync_bn false, or on the CPU");
    mean_ = device_floats(ctx_, C_);
    istd_ = device_floats(ctx_, C_);
    scale_ = device_floats(ctx_, C_);
    partial_ = device_floats(ctx_, int64_t{3} * chunks_ * C_);
    if (!s.training) return;
    dgamma_sink_ = device_floats(ctx_, C_);
    dbeta_sink_ = device_floats(ctx_, C_);
    if (s.in[0].shape.size() == 4 && !g_.use_running_stats && M_ >= 2) setup_cudnn(s.in[0].shape);
  }

  ~BatchNormCuda() override {
    if (x_desc_) cudnnDestroyTensorDescriptor(x_desc_);
    if (bn_desc_) cudnnDestroyTensorDescriptor(bn_desc_);
  }

  size_t workspace_bytes() const override { return workspace_; }

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
    if (x_desc_ && cudnn_forward(c, eps, mom)) return;
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
    if (batch_ && x_desc_ && dx) {
      static const float one = 1.f, zero = 0.f;
      QF_CUDNN_CHECK(cudnnBatchNormalizationBackwardEx(
          ctx_.cudnn(), CUDNN_BATCHNORM_SPATIAL, CUDNN_BATCHNORM_OPS_BN, &one, &zero, &one, &zero,
          x_desc_, c.in[0]->raw(), nullptr, nullptr, x_desc_, c.grad_out[0]->raw(), nullptr,
          nullptr, x_desc_, dx, bn_desc_, c.in[1]->raw(), c.in[2]->raw(), dgamma, dbeta, g_.epsilon,
          mean(), istd(), nullptr, c.workspace, workspace_, reserve_.raw(), reserve_bytes_));
      return;
    }
    bn_backward(in_f32(c.in[0]), in_f32(c.grad_out[0]), dx, M_, C_, chunks_, in_f32(c.in[1]),
                mean(), istd(), batch_, dgamma, dbeta, out_f32(&partial_), ctx_.stream());
  }

 private:
  float* mean() { return mean_.data<float>(); }
  float* istd() { return istd_.data<float>(); }
  float* scale() { return scale_.data<float>(); }

  void setup_cudnn(const Shape& x) {
    QF_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x_desc_));
    QF_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bn_desc_));
    QF_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x_desc_, CUDNN_TENSOR_NHWC, CUDNN_DATA_FLOAT,
                                              static_cast<int>(x[0]), static_cast<int>(x[1]),
                                              static_cast<int>(x[2]), static_cast<int>(x[3])));
    QF_CUDNN_CHECK(cudnnDeriveBNTensorDescriptor(bn_desc_, x_desc_, CUDNN_BATCHNORM_SPATIAL));
    size_t fwd = 0, bwd = 0;
    const cudnnStatus_t a = cudnnGetBatchNormalizationForwardTrainingExWorkspaceSize(
        ctx_.cudnn(), CUDNN_BATCHNORM_SPATIAL, CUDNN_BATCHNORM_OPS_BN, x_desc_, nullptr, x_desc_,
        bn_desc_, nullptr, &fwd);
    const cudnnStatus_t b = cudnnGetBatchNormalizationBackwardExWorkspaceSize(
        ctx_.cudnn(), CUDNN_BATCHNORM_SPATIAL, CUDNN_BATCHNORM_OPS_BN, x_desc_, nullptr, x_desc_,
        nullptr, x_desc_, bn_desc_, nullptr, &bwd);
    const cudnnStatus_t r = cudnnGetBatchNormalizationTrainingExReserveSpaceSize(
        ctx_.cudnn(), CUDNN_BATCHNORM_SPATIAL, CUDNN_BATCHNORM_OPS_BN, nullptr, x_desc_,
        &reserve_bytes_);
    if (a != CUDNN_STATUS_SUCCESS || b != CUDNN_STATUS_SUCCESS || r != CUDNN_STATUS_SUCCESS) {
      drop_cudnn();  // not supported for this shape: the own kernels run it
      return;
    }
    workspace_ = std::max(fwd, bwd);
    reserve_ = ctx_.empty({static_cast<int64_t>(std::max<size_t>(reserve_bytes_, 1))}, DType::u8);
  }

  void drop_cudnn() {
    if (x_desc_) cudnnDestroyTensorDescriptor(x_desc_);
    if (bn_desc_) cudnnDestroyTensorDescriptor(bn_desc_);
    x_desc_ = bn_desc_ = nullptr;
  }

  // False (and the own kernels from then on) when cuDNN says it does not support this case.
  bool cudnn_forward(const ForwardCall& c, float eps, float mom) {
    static const float one = 1.f, zero = 0.f;
    const cudnnStatus_t st = cudnnBatchNormalizationForwardTrainingEx(
        ctx_.cudnn(), CUDNN_BATCHNORM_SPATIAL, CUDNN_BATCHNORM_OPS_BN, &one, &zero, x_desc_,
        c.in[0]->raw(), nullptr, nullptr, x_desc_, c.out[0]->raw(), bn_desc_, c.in[1]->raw(),
        c.in[2]->raw(), static_cast<double>(mom), c.in[3]->raw(), c.in[4]->raw(),
        static_cast<double>(eps), mean(), istd(), nullptr, c.workspace, workspace_, reserve_.raw(),
        reserve_bytes_);
    if (st == CUDNN_STATUS_NOT_SUPPORTED) {
      drop_cudnn();
      return false;
    }
    QF_CUDNN_CHECK(st);
    return true;
  }

  CudaContext& ctx_;
  std::string name_;
  BnGeom g_;
  int64_t M_;
  int C_;
  int chunks_;
  Tensor mean_, istd_, scale_, partial_, dgamma_sink_, dbeta_sink_, reserve_;
  cudnnTensorDescriptor_t x_desc_ = nullptr, bn_desc_ = nullptr;
  size_t workspace_ = 0, reserve_bytes_ = 0;
  bool batch_ = false;
};

}  // namespace

void register_batch_norm_cuda(OpRegistry& reg) {
  reg.set_kernel("batch_norm", KernelKind::cuda, make_kernel<BatchNormCuda>);
}

}  // namespace qf::cuda
