// pact: PaddleSlim's symmetric PACT clip, applied to a tensor right before its fake-quant op
// (docs/quantization.md; formulas in pact_math.h): y = x - relu(x - alpha) + relu(-alpha - x) =
// clip(x, -alpha, alpha).
//   inputs: x (any shape, any layout), alpha [1] (a trainable parameter; init 100 and learning-rate
//           multiplier 1000 in the dygraph QAT, set by the quant_aware pass)
//   output: y, shaped like x
// Gradients (Paddle's relu'(0) = 0, so the boundary counts as inside), both overwritten:
//   dx     = dy where -alpha <= x <= alpha, else 0    (the only clipped gradient of QAT)
//   dalpha = sum(dy where x > alpha) - sum(dy where x < -alpha)
// Kernels: reference loops (float or double) and a fused OpenMP + SIMD CPU kernel (one pass for
// the forward, one for dx and the dalpha reduction together).
#include <omp.h>

#include "nn/ops/op_util.h"
#include "quant/ops/pact/pact_math.h"

namespace qf {
namespace {

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  if (in[1].shape != Shape{1}) shape_error(node, "alpha must have shape [1]");
  if (in[1].dtype != in[0].dtype) shape_error(node, "alpha and input must have the same type");
  return {in[0]};
}

class PactRef final : public Kernel {
 public:
  explicit PactRef(const KernelSetup&) {}
  void forward(const ForwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = c.in[0]->data<T>();
      const T a = c.in[1]->data<T>()[0];
      T* y = c.out[0]->data<T>();
      for (int64_t i = 0; i < c.in[0]->numel(); ++i) y[i] = pact_clip(x[i], a);
    });
  }
  void backward(const BackwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = c.in[0]->data<T>();
      const T a = c.in[1]->data<T>()[0];
      const T* dy = c.grad_out[0]->data<T>();
      T* dx = mut_ptr<T>(c.grad_in[0]);
      T da = 0;
      for (int64_t i = 0; i < c.in[0]->numel(); ++i) {
        da += pact_dalpha_term(x[i], a, dy[i]);
        if (dx) dx[i] = pact_dx(x[i], a, dy[i]);
      }
      if (c.grad_in[1]) c.grad_in[1]->data<T>()[0] = da;
    });
  }
};

class PactCpu final : public Kernel {
 public:
  explicit PactCpu(const KernelSetup&) {}
  void forward(const ForwardCall& c) override {
    QF_CHECK(c.in[0]->dtype() == DType::f32, "the fast pact kernel runs on float32");
    const float* x = c.in[0]->data<float>();
    const float a = c.in[1]->data<float>()[0];
    float* y = c.out[0]->data<float>();
    const int64_t n = c.in[0]->numel();
#pragma omp parallel for simd schedule(static) if (n > 32768)
    for (int64_t i = 0; i < n; ++i) y[i] = pact_clip(x[i], a);
  }
  void backward(const BackwardCall& c) override {
    const float* x = c.in[0]->data<float>();
    const float a = c.in[1]->data<float>()[0];
    const float* dy = c.grad_out[0]->data<float>();
    float* dx = mut_ptr<float>(c.grad_in[0]);
    const int64_t n = c.in[0]->numel();
    double da = 0;  // summed in double: alpha's gradient adds up many terms of both signs
    if (dx) {
#pragma omp parallel for simd schedule(static) reduction(+ : da) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) {
        const float g = dy[i];
        da += pact_dalpha_term(x[i], a, g);
        dx[i] = pact_dx(x[i], a, g);
      }
    } else {
#pragma omp parallel for simd schedule(static) reduction(+ : da) if (n > 32768)
      for (int64_t i = 0; i < n; ++i) da += pact_dalpha_term(x[i], a, dy[i]);
    }
    if (c.grad_in[1]) c.grad_in[1]->data<float>()[0] = static_cast<float>(da);
  }
};

}  // namespace

void register_pact(OpRegistry& reg) {
  OpDef d;
  d.type = "pact";
  d.min_inputs = 2;
  d.max_inputs = 2;
  d.infer = infer;
  d.backward_reads_outputs = 0;  // backward reads x and alpha (which side of the clip)
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_kernel<PactCpu>;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<PactRef>;
  reg.add(std::move(d));
}

}  // namespace qf
