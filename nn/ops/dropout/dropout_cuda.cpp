// dropout's CUDA kernel (semantics: dropout.cpp). The mask reads the step and seed from the
// context's device scalars, so a recorded step draws new masks each replay.
#include "nn/ops/dropout/dropout_cuda.h"

#include "nn/kernels/cuda/kernel_util.h"
#include "nn/ops/dropout/counter_rng.h"

namespace qf::cuda {
namespace {

class DropoutCuda final : public Kernel {
 public:
  explicit DropoutCuda(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)),
        p_(s.node.attrs.get_float("ratio", 0.5)),
        threshold_(rng_drop_threshold(p_)),
        stream_id_(stream_of_name(s.node.name)) {
    require_f32(s, {0});
  }
  void forward(const ForwardCall& c) override {
    active_ = c.mode == Mode::train && p_ > 0.0;
    if (!active_) return device_copy(ctx_, *c.out[0], *c.in[0]);
    ctx_.publish_step(c.step);
    apply(*c.in[0], *c.out[0]);
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    if (!active_) return device_copy(ctx_, *c.grad_in[0], *c.grad_out[0]);
    apply(*c.grad_out[0], *c.grad_in[0]);  // the scalars still hold the forward's step
  }

 private:
  void apply(const Tensor& a, const Tensor& b) {
    dropout_apply(a.data<float>(), b.data<float>(), a.numel(), ctx_.step_scalars(), stream_id_,
                  threshold_, static_cast<float>(1.0 / (1.0 - p_)), ctx_.stream());
  }

  CudaContext& ctx_;
  double p_;
  uint32_t threshold_;
  uint64_t stream_id_;
  bool active_ = false;
};

}  // namespace

void register_dropout_cuda(OpRegistry& reg) {
  reg.set_kernel("dropout", KernelKind::cuda, make_kernel<DropoutCuda>);
}

}  // namespace qf::cuda
