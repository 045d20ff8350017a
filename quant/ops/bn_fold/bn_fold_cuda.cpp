// bn_fold_weight / bn_unscale's CUDA kernel (math: bn_fold.cpp).
#include "quant/ops/bn_fold/bn_fold_cuda.h"

#include "nn/kernels/cuda/kernel_util.h"

namespace qf::cuda {
namespace {

class BnFoldCuda final : public Kernel {
 public:
  explicit BnFoldCuda(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)),
        weight_(s.node.op == "bn_fold_weight"),
        eps_(static_cast<float>(s.node.attrs.get_float("epsilon", 1e-5))),
        n_(numel(s.in[0].shape)),
        C_(weight_ ? s.in[0].shape[0] : s.in[0].shape[1]),
        k_(device_floats(ctx_, C_)) {
    require_f32(s, {0, 1, 2});
  }
  void forward(const ForwardCall& c) override {
    cudaStream_t st = ctx_.stream();
    bn_fold_k(in_f32(c.in[1]), in_f32(c.in[2]), eps_, out_f32(&k_), C_, st);
    bn_fold_apply(in_f32(c.in[0]), in_f32(&k_), out_f32(c.out[0]), n_, C_, n_ / C_, weight_, st);
  }
  void backward(const BackwardCall& c) override {
    cudaStream_t st = ctx_.stream();
    if (c.grad_in[0]) {
      bn_fold_k(in_f32(c.in[1]), in_f32(c.in[2]), eps_, out_f32(&k_), C_, st);
      bn_fold_apply(in_f32(c.grad_out[0]), in_f32(&k_), out_f32(c.grad_in[0]), n_, C_, n_ / C_,
                    weight_, st);
    }
    if (c.grad_in[1])
      bn_fold_dgamma(in_f32(c.in[0]), in_f32(c.grad_out[0]), in_f32(c.in[1]), in_f32(c.in[2]), eps_,
                     weight_ ? 1 : n_ / C_, C_, weight_ ? n_ / C_ : 1, weight_,
                     out_f32(c.grad_in[1]), st);
  }

 private:
  CudaContext& ctx_;
  bool weight_;
  float eps_;
  int64_t n_, C_;
  Tensor k_;
};

}  // namespace

void register_bn_fold_cuda(OpRegistry& reg) {
  reg.set_kernel("bn_fold_weight", KernelKind::cuda, make_kernel<BnFoldCuda>);
  reg.set_kernel("bn_unscale", KernelKind::cuda, make_kernel<BnFoldCuda>);
}

}  // namespace qf::cuda
