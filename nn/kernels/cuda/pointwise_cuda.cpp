// CUDA kernels of the pointwise activations (relu, relu6, hardsigmoid, hardswish, sigmoid) and of
// dropout. Math: nn/kernels/activation_fns.h and nn/ops/dropout.cpp; the dropout mask reads the
// step and seed from the context's device scalars, so a recorded step draws new masks each replay.
#include "nn/kernels/counter_rng.h"
#include "nn/kernels/cuda/kernel_util.h"

namespace qf::cuda {
namespace {

template <Activation A>
class ActivationCuda final : public Kernel {
 public:
  explicit ActivationCuda(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)),
        alpha_(static_cast<float>(s.node.attrs.get_float("alpha", 1.0 / 6.0))),
        beta_(static_cast<float>(s.node.attrs.get_float("beta", 0.5))) {
    require_f32(s, {0});
  }
  void forward(const ForwardCall& c) override {
    activation_forward(A, alpha_, beta_, in_f32(c.in[0]), out_f32(c.out[0]), c.in[0]->numel(),
                       ctx_.stream());
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    activation_backward(A, alpha_, beta_, in_f32(c.in[0]), in_f32(c.out[0]), in_f32(c.grad_out[0]),
                        out_f32(c.grad_in[0]), c.in[0]->numel(), ctx_.stream());
  }

 private:
  CudaContext& ctx_;
  float alpha_, beta_;
};

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

void register_pointwise_cuda(OpRegistry& reg) {
  auto set = [&](const char* op, KernelFactory f) { reg.set_kernel(op, KernelKind::cuda, f); };
  set("relu", make_kernel<ActivationCuda<Activation::relu>>);
  set("relu6", make_kernel<ActivationCuda<Activation::relu6>>);
  set("hardsigmoid", make_kernel<ActivationCuda<Activation::hardsigmoid>>);
  set("hardswish", make_kernel<ActivationCuda<Activation::hardswish>>);
  set("sigmoid", make_kernel<ActivationCuda<Activation::sigmoid>>);
  set("dropout", make_kernel<DropoutCuda>);
}

}  // namespace qf::cuda
