// flatten's CUDA kernel (semantics: flatten.cpp).
#include "nn/ops/flatten/flatten_cuda.h"

#include "nn/kernels/cuda/kernel_util.h"

namespace qf::cuda {
namespace {

// flatten: a 4-D channels-last input is transposed per sample from (H*W, C) to (C, H*W), so the
// output is in logical (n, c, h, w) order; otherwise (or when H*W or C is 1) a copy.
class FlattenCuda final : public Kernel {
 public:
  explicit FlattenCuda(const KernelSetup& s) : ctx_(cuda_context_of(s.ctx)) {
    const Shape& x = s.in[0].shape;
    if (x.size() == 4) {
      N_ = x[0];
      C_ = x[1];
      HW_ = x[2] * x[3];
      transpose_ = C_ > 1 && HW_ > 1;
      if (transpose_) require_f32(s, {0});
    }
  }
  void forward(const ForwardCall& c) override {
    if (!transpose_) return device_copy(ctx_, *c.out[0], *c.in[0]);
    batched_transpose(in_f32(c.in[0]), out_f32(c.out[0]), N_, HW_, C_, ctx_.stream());
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    if (!transpose_) return device_copy(ctx_, *c.grad_in[0], *c.grad_out[0]);
    batched_transpose(in_f32(c.grad_out[0]), out_f32(c.grad_in[0]), N_, C_, HW_, ctx_.stream());
  }

 private:
  CudaContext& ctx_;
  int64_t N_ = 0, C_ = 0, HW_ = 0;
  bool transpose_ = false;
};

}  // namespace

void register_flatten_cuda(OpRegistry& reg) {
  reg.set_kernel("flatten", KernelKind::cuda, make_kernel<FlattenCuda>);
}

}  // namespace qf::cuda
