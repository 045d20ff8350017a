// The scalar math of the pointwise activations — value f(x) and derivative df(x, y) — shared by
// the CPU reference loop, the CPU fast kernel (nn/ops/activations/activations.cpp) and the CUDA
// kernel (nn/ops/activations/activations_cuda.cu), so they cannot drift apart.
//
//   relu        y = max(x, 0)                      dy/dx = 1 if x > 0 else 0
//   relu6       y = min(max(x, 0), 6)              dy/dx = 1 if 0 < x < 6 else 0
//   hardsigmoid y = clip(alpha*x + beta, 0, 1)     dy/dx = alpha inside (0, 1), else 0
//   hardswish   y = x * relu6(x + 3) / 6           dy/dx = 0 (x < -3), (2x + 3)/6 (x <= 3), 1
//   sigmoid     y = 1 / (1 + exp(-x))              dy/dx = y (1 - y)
//   clip        y = min(max(x, lo), hi)            dy/dx = 1 if lo < x < hi else 0
// Derivatives at kinks follow PyTorch (and Paddle): the boundary counts as outside. The two
// scalar parameters are hardsigmoid's alpha and beta, or clip's lo and hi; others ignore them.
#pragma once

#include <cmath>

#include "nn/kernels/host_device.h"

namespace qf::act {

struct Relu {
  template <class T>
  QF_HOST_DEVICE static T f(T x, T, T) {
    return x > T(0) ? x : T(0);
  }
  template <class T>
  QF_HOST_DEVICE static T df(T x, T, T, T) {
    return x > T(0) ? T(1) : T(0);
  }
};
struct Relu6 {
  template <class T>
  QF_HOST_DEVICE static T f(T x, T, T) {
    return x < T(0) ? T(0) : (x > T(6) ? T(6) : x);
  }
  template <class T>
  QF_HOST_DEVICE static T df(T x, T, T, T) {
    return x > T(0) && x < T(6) ? T(1) : T(0);
  }
};
struct HardSigmoid {
  template <class T>
  QF_HOST_DEVICE static T f(T x, T alpha, T beta) {
    const T v = alpha * x + beta;
    return v < T(0) ? T(0) : (v > T(1) ? T(1) : v);
  }
  template <class T>
  QF_HOST_DEVICE static T df(T x, T, T alpha, T beta) {
    const T v = alpha * x + beta;
    return v > T(0) && v < T(1) ? alpha : T(0);
  }
};
struct HardSwish {
  template <class T>
  QF_HOST_DEVICE static T f(T x, T, T) {
    const T r = x + T(3);
    return x * (r < T(0) ? T(0) : (r > T(6) ? T(6) : r)) / T(6);
  }
  template <class T>
  QF_HOST_DEVICE static T df(T x, T, T, T) {
    return x < T(-3) ? T(0) : (x <= T(3) ? (T(2) * x + T(3)) / T(6) : T(1));
  }
};
struct Sigmoid {
  template <class T>
  QF_HOST_DEVICE static T f(T x, T, T) {
    return T(1) / (T(1) + std::exp(-x));
  }
  template <class T>
  QF_HOST_DEVICE static T df(T, T y, T, T) {
    return y * (T(1) - y);
  }
};

struct Clip {
  template <class T>
  QF_HOST_DEVICE static T f(T x, T lo, T hi) {
    return x < lo ? lo : (x > hi ? hi : x);
  }
  template <class T>
  QF_HOST_DEVICE static T df(T x, T, T lo, T hi) {
    return x > lo && x < hi ? T(1) : T(0);
  }
};

}  // namespace qf::act
