// Pointwise activations: relu, relu6, hardsigmoid, hardswish, sigmoid, clip. The scalar math —
// value and derivative, kinks included — lives in nn/ops/activations/activations_math.h, shared by
// the plain reference loop (float or double), the fast kernel (OpenMP + SIMD over the same
// functions) and the CUDA kernel, so they cannot drift apart. hardsigmoid takes attrs alpha (1/6)
// and beta (0.5), PyTorch's and Paddle's defaults; clip takes attrs min (-inf) and max (+inf), ONNX
// Clip with constant bounds (the importer maps clip(0, 6) to relu6 and clip(0, inf) to relu).
// Backward overwrites dx.
#include <cmath>
#include <limits>

#include "nn/ops/activations/activations_math.h"
#include "nn/ops/op_util.h"

namespace qf {
namespace {

using act::Clip;
using act::HardSigmoid;
using act::HardSwish;
using act::Relu;
using act::Relu6;
using act::Sigmoid;

// The two scalars an activation's functions take (as alpha, beta): hardsigmoid's alpha and beta,
// clip's min and max; the other activations ignore them.
struct Params {
  double alpha = 1.0 / 6.0, beta = 0.5;
};

Params params_of(const Node& n) {
  Params p;
  p.alpha = n.attrs.get_float("alpha", p.alpha);
  p.beta = n.attrs.get_float("beta", p.beta);
  if (n.op == "clip") {
    p.alpha = n.attrs.get_float("min", -std::numeric_limits<double>::infinity());
    p.beta = n.attrs.get_float("max", std::numeric_limits<double>::infinity());
  }
  return p;
}

// Plain loops, float or double.
template <class F>
class PointwiseRef final : public Kernel {
 public:
  explicit PointwiseRef(const KernelSetup& s) : p_(params_of(s.node)) {}
  void forward(const ForwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = c.in[0]->data<T>();
      T* y = c.out[0]->data<T>();
      const T a = static_cast<T>(p_.alpha), b = static_cast<T>(p_.beta);
      for (int64_t i = 0, n = c.in[0]->numel(); i < n; ++i) y[i] = F::f(x[i], a, b);
    });
  }
  void backward(const BackwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = c.in[0]->data<T>();
      const T* y = c.out[0]->data<T>();
      const T* dy = c.grad_out[0]->data<T>();
      T* dx = c.grad_in[0]->data<T>();
      const T a = static_cast<T>(p_.alpha), b = static_cast<T>(p_.beta);
      for (int64_t i = 0, n = c.in[0]->numel(); i < n; ++i) dx[i] = dy[i] * F::df(x[i], y[i], a, b);
    });
  }

 private:
  Params p_;
};

// The same functions, threaded and vectorised (float only).
template <class F>
class PointwiseFast final : public Kernel {
 public:
  explicit PointwiseFast(const KernelSetup& s) : p_(params_of(s.node)) {}
  void forward(const ForwardCall& c) override {
    const float* x = c.in[0]->data<float>();
    float* y = c.out[0]->data<float>();
    const int64_t n = c.in[0]->numel();
    const float a = static_cast<float>(p_.alpha), b = static_cast<float>(p_.beta);
#pragma omp parallel for simd schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; ++i) y[i] = F::f(x[i], a, b);
  }
  void backward(const BackwardCall& c) override {
    const float* x = c.in[0]->data<float>();
    const float* y = c.out[0]->data<float>();
    const float* dy = c.grad_out[0]->data<float>();
    float* dx = c.grad_in[0]->data<float>();
    const int64_t n = c.in[0]->numel();
    const float a = static_cast<float>(p_.alpha), b = static_cast<float>(p_.beta);
#pragma omp parallel for simd schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * F::df(x[i], y[i], a, b);
  }

 private:
  Params p_;
};

std::vector<TensorDesc> infer_clip(const Node& node, std::span<const TensorDesc> in) {
  const Params p = params_of(node);
  if (std::isnan(p.alpha) || std::isnan(p.beta) || p.alpha > p.beta)
    shape_error(node, str_cat("min ", p.alpha, " must not exceed max ", p.beta));
  return {in[0]};
}

template <class F>
void add_pointwise(OpRegistry& reg, const char* type, InferFn infer = same_as_input0) {
  OpDef d;
  d.type = type;
  d.infer = infer;
  d.backward_reads_inputs = F::kReadsX ? 1u : 0u;
  d.backward_reads_outputs = F::kReadsY ? 1u : 0u;
  d.grad_in_place = true;  // dx[i] = dy[i] * df(x[i], y[i])
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_kernel<PointwiseFast<F>>;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<PointwiseRef<F>>;
  reg.add(std::move(d));
}

}  // namespace

void register_activations(OpRegistry& reg) {
  add_pointwise<Relu>(reg, "relu");
  add_pointwise<Relu6>(reg, "relu6");
  add_pointwise<HardSigmoid>(reg, "hardsigmoid");
  add_pointwise<HardSwish>(reg, "hardswish");
  add_pointwise<Sigmoid>(reg, "sigmoid");
  add_pointwise<Clip>(reg, "clip", infer_clip);
}

}  // namespace qf
