// global_avg_pool's CUDA kernel (semantics: global_avg_pool.cpp).
#include "nn/ops/global_avg_pool/global_avg_pool_cuda.h"

#include "nn/kernels/cuda/kernel_util.h"

namespace qf::cuda {
namespace {

class GlobalAvgPoolCuda final : public Kernel {
 public:
  explicit GlobalAvgPoolCuda(const KernelSetup& s) : ctx_(cuda_context_of(s.ctx)) {
    require_f32(s, {0});
    const Shape& x = s.in[0].shape;
    N_ = static_cast<int>(x[0]);
    C_ = static_cast<int>(x[1]);
    HW_ = static_cast<int>(x[2] * x[3]);
  }
  void forward(const ForwardCall& c) override {
    global_avg_pool_forward(in_f32(c.in[0]), out_f32(c.out[0]), N_, C_, HW_, ctx_.stream());
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    global_avg_pool_backward(in_f32(c.grad_out[0]), out_f32(c.grad_in[0]), N_, C_, HW_,
                             ctx_.stream());
  }

 private:
  CudaContext& ctx_;
  int N_, C_, HW_;
};

}  // namespace

void register_global_avg_pool_cuda(OpRegistry& reg) {
  reg.set_kernel("global_avg_pool", KernelKind::cuda, make_kernel<GlobalAvgPoolCuda>);
}

}  // namespace qf::cuda
