// CUDA kernels of add and mul (math and layout rule: nn/ops/elementwise/elementwise.h). Same-shape
// operands take a plain elementwise path; anything broadcast walks the output in memory order.
#include "nn/ops/elementwise/elementwise_cuda.h"

#include "nn/kernels/cuda/kernel_util.h"
#include "nn/ops/elementwise/elementwise.h"

namespace qf::cuda {
namespace {

template <bool Mul>
class ElementwiseCuda final : public Kernel {
 public:
  explicit ElementwiseCuda(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)),
        a_(s.in[0].shape),
        b_(s.in[1].shape),
        y_(broadcast_shape(s.node, a_, b_)),
        same_(a_ == b_),
        walk_(broadcast_walk(a_, b_, y_)),
        walk_ba_(broadcast_walk(b_, a_, y_)) {
    require_f32(s, {0, 1});
  }

  void forward(const ForwardCall& c) override {
    const float *a = in_f32(c.in[0]), *b = in_f32(c.in[1]);
    float* y = out_f32(c.out[0]);
    if (same_)
      (Mul ? mul_same : add_same)(a, b, y, numel(y_), ctx_.stream());
    else
      broadcast_forward(Mul, a, b, y, walk_, ctx_.stream());
  }

  void backward(const BackwardCall& c) override {
    const Tensor& dy = *c.grad_out[0];
    if (c.grad_in[0]) grad(dy, c.in[1], *c.grad_in[0], walk_, numel(a_));
    if (c.grad_in[1]) grad(dy, c.in[0], *c.grad_in[1], walk_ba_, numel(b_));
  }

 private:
  // The gradient of the operand whose walk is `w` (it is the walk's operand a; `other` is b).
  void grad(const Tensor& dy, const Tensor* other, const Tensor& dx, const BroadcastWalk& w,
            int64_t n) {
    if (same_) {
      if (Mul)
        mul_same(dy.data<float>(), other->data<float>(), dx.data<float>(), n, ctx_.stream());
      else
        device_copy(ctx_, dx, dy);
      return;
    }
    broadcast_backward(Mul, dy.data<float>(), Mul ? other->data<float>() : nullptr,
                       dx.data<float>(), w, n, ctx_.stream());
  }

  CudaContext& ctx_;
  Shape a_, b_, y_;
  bool same_;
  BroadcastWalk walk_, walk_ba_;
};

}  // namespace

void register_elementwise_cuda(OpRegistry& reg) {
  reg.set_kernel("add", KernelKind::cuda, make_kernel<ElementwiseCuda<false>>);
  reg.set_kernel("mul", KernelKind::cuda, make_kernel<ElementwiseCuda<true>>);
}

}  // namespace qf::cuda
