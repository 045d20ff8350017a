// The CUDA kernel of the activations relu, relu6, hardsigmoid, hardswish and sigmoid (math:
// activations_math.h). clip has none yet (tests/ops/coverage_test.cpp lists it).
#include "nn/ops/activations/activations_cuda.h"

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

}  // namespace

void register_activations_cuda(OpRegistry& reg) {
  reg.set_kernel("relu", KernelKind::cuda, make_kernel<ActivationCuda<Activation::relu>>);
  reg.set_kernel("relu6", KernelKind::cuda, make_kernel<ActivationCuda<Activation::relu6>>);
  reg.set_kernel("hardsigmoid", KernelKind::cuda,
                 make_kernel<ActivationCuda<Activation::hardsigmoid>>);
  reg.set_kernel("hardswish", KernelKind::cuda, make_kernel<ActivationCuda<Activation::hardswish>>);
  reg.set_kernel("sigmoid", KernelKind::cuda, make_kernel<ActivationCuda<Activation::sigmoid>>);
}

}  // namespace qf::cuda
