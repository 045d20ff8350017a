// pact's CUDA kernel (math: pact.cpp).
#include "quant/ops/pact/pact_cuda.h"

#include "nn/kernels/cuda/kernel_util.h"

namespace qf::cuda {
namespace {

class PactCuda final : public Kernel {
 public:
  explicit PactCuda(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)),
        n_(numel(s.in[0].shape)),
        partial_(ctx_.empty({1024}, DType::f64)) {
    require_f32(s, {0, 1});
  }
  void forward(const ForwardCall& c) override {
    pact_forward(in_f32(c.in[0]), in_f32(c.in[1]), out_f32(c.out[0]), n_, ctx_.stream());
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0] && !c.grad_in[1]) return;
    pact_backward(in_f32(c.in[0]), in_f32(c.in[1]), in_f32(c.grad_out[0]), out_f32(c.grad_in[0]),
                  out_f32(c.grad_in[1]), partial_.data<double>(), n_, ctx_.stream());
  }

 private:
  CudaContext& ctx_;
  int64_t n_;
  Tensor partial_;
};

}  // namespace

void register_pact_cuda(OpRegistry& reg) {
  reg.set_kernel("pact", KernelKind::cuda, make_kernel<PactCuda>);
}

}  // namespace qf::cuda
