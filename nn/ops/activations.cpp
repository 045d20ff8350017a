// Pointwise activations. Each is a pair of scalar functions — value and derivative — shared by the
// plain reference loop (float or double) and the fast kernel (OpenMP + SIMD over the same
// functions), so the two cannot drift apart.
//
//   relu        y = max(x, 0)                      dy/dx = 1 if x > 0 else 0
//   relu6       y = min(max(x, 0), 6)              dy/dx = 1 if 0 < x < 6 else 0
//   hardsigmoid y = clip(alpha*x + beta, 0, 1)     dy/dx = alpha inside (0, 1), else 0
//               attrs alpha (1/6), beta (0.5) — PyTorch's and Paddle's defaults
//   hardswish   y = x * relu6(x + 3) / 6           dy/dx = 0 (x < -3), (2x + 3)/6 (x <= 3), 1
//   sigmoid     y = 1 / (1 + exp(-x))              dy/dx = y (1 - y)
//   clip        y = min(max(x, min), max)          dy/dx = 1 if min < x < max else 0
//               attrs min (-inf), max (+inf) — ONNX Clip with constant bounds (relu6 is
//               clip(0, 6); the importer maps those bounds to relu6 and (0, inf) to relu)
// Derivatives at kinks follow PyTorch (and Paddle): the boundary counts as outside.
// Backward overwrites dx.
#include <cmath>
#include <limits>

#include "nn/ops/op_util.h"

namespace qf {
namespace {

struct Params {
  double alpha = 1.0 / 6.0, beta = 0.5;
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
};

struct Relu {
  template <class T> static T f(T x, const Params&) { return x > T(0) ? x : T(0); }
  template <class T> static T df(T x, T, const Params&) { return x > T(0) ? T(1) : T(0); }
};
struct Relu6 {
  template <class T> static T f(T x, const Params&) {
    return x < T(0) ? T(0) : (x > T(6) ? T(6) : x);
  }
  template <class T> static T df(T x, T, const Params&) {
    return x > T(0) && x < T(6) ? T(1) : T(0);
  }
};
struct HardSigmoid {
  template <class T> static T f(T x, const Params& p) {
    const T v = T(p.alpha) * x + T(p.beta);
    return v < T(0) ? T(0) : (v > T(1) ? T(1) : v);
  }
  template <class T> static T df(T x, T, const Params& p) {
    const T v = T(p.alpha) * x + T(p.beta);
    return v > T(0) && v < T(1) ? T(p.alpha) : T(0);
  }
};
struct HardSwish {
  template <class T> static T f(T x, const Params&) {
    const T r = x + T(3);
    return x * (r < T(0) ? T(0) : (r > T(6) ? T(6) : r)) / T(6);
  }
  template <class T> static T df(T x, T, const Params&) {
    return x < T(-3) ? T(0) : (x <= T(3) ? (T(2) * x + T(3)) / T(6) : T(1));
  }
};
struct Clip {
  template <class T> static T f(T x, const Params& p) {
    return x < T(p.lo) ? T(p.lo) : (x > T(p.hi) ? T(p.hi) : x);
  }
  template <class T> static T df(T x, T, const Params& p) {
    return x > T(p.lo) && x < T(p.hi) ? T(1) : T(0);
  }
};
struct Sigmoid {
  template <class T> static T f(T x, const Params&) { return T(1) / (T(1) + std::exp(-x)); }
  template <class T> static T df(T, T y, const Params&) { return y * (T(1) - y); }
};

Params params_of(const Node& n) {
  Params p;
  p.alpha = n.attrs.get_float("alpha", p.alpha);
  p.beta = n.attrs.get_float("beta", p.beta);
  p.lo = n.attrs.get_float("min", p.lo);
  p.hi = n.attrs.get_float("max", p.hi);
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
      for (int64_t i = 0, n = c.in[0]->numel(); i < n; ++i) y[i] = F::f(x[i], p_);
    });
  }
  void backward(const BackwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = c.in[0]->data<T>();
      const T* y = c.out[0]->data<T>();
      const T* dy = c.grad_out[0]->data<T>();
      T* dx = c.grad_in[0]->data<T>();
      for (int64_t i = 0, n = c.in[0]->numel(); i < n; ++i) dx[i] = dy[i] * F::df(x[i], y[i], p_);
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
    const Params p = p_;
#pragma omp parallel for simd schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; ++i) y[i] = F::f(x[i], p);
  }
  void backward(const BackwardCall& c) override {
    const float* x = c.in[0]->data<float>();
    const float* y = c.out[0]->data<float>();
    const float* dy = c.grad_out[0]->data<float>();
    float* dx = c.grad_in[0]->data<float>();
    const int64_t n = c.in[0]->numel();
    const Params p = p_;
#pragma omp parallel for simd schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * F::df(x[i], y[i], p);
  }

 private:
  Params p_;
};

std::vector<TensorDesc> infer_clip(const Node& node, std::span<const TensorDesc> in) {
  const Params p = params_of(node);
  if (std::isnan(p.lo) || std::isnan(p.hi) || p.lo > p.hi)
    shape_error(node, str_cat("min ", p.lo, " must not exceed max ", p.hi));
  return {in[0]};
}

template <class F>
void add_pointwise(OpRegistry& reg, const char* type, InferFn infer = same_as_input0) {
  OpDef d;
  d.type = type;
  d.infer = infer;
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
