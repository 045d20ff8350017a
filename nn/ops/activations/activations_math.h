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
//
// Where the output tells the derivative as exactly as the input, df reads the output, so training
// keeps only y for backward (x's memory is free once the forward has used it): relu's x > 0 is
// y > 0; relu6's and clip's open interval holds x exactly when it holds y (y = x inside, a bound
// outside); hardsigmoid's 0 < alpha*x + beta < 1 is 0 < y < 1. NaN fails every comparison either
// way. kReadsX / kReadsY say which one df uses (OpDef::backward_reads_*).
#pragma once

#include <cmath>

#include "nn/kernels/host_device.h"

namespace qf::act {

struct Relu {
  static constexpr bool kReadsX = false, kReadsY = true;
  template <class T>
  QF_HOST_DEVICE static T f(T x, T, T) {
    return x > T(0) ? x : T(0);
  }
  template <class T>
  QF_HOST_DEVICE static T df(T, T y, T, T) {
    return y > T(0) ? T(1) : T(0);
  }
};
struct Relu6 {
  static constexpr bool kReadsX = false, kReadsY = true;
  template <class T>
  QF_HOST_DEVICE static T f(T x, T, T) {
    return x < T(0) ? T(0) : (x > T(6) ? T(6) : x);
  }
  template <class T>
  QF_HOST_DEVICE static T df(T, T y, T, T) {
    return y > T(0) && y < T(6) ? T(1) : T(0);
  }
};
struct HardSigmoid {
  static constexpr bool kReadsX = false, kReadsY = true;
  template <class T>
  QF_HOST_DEVICE static T f(T x, T alpha, T beta) {
    const T v = alpha * x + beta;
    return v < T(0) ? T(0) : (v > T(1) ? T(1) : v);
  }
  template <class T>
  QF_HOST_DEVICE static T df(T, T y, T alpha, T) {
    return y > T(0) && y < T(1) ? alpha : T(0);
  }
};
struct HardSwish {
  static constexpr bool kReadsX = true, kReadsY = false;
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
  static constexpr bool kReadsX = false, kReadsY = true;
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
  static constexpr bool kReadsX = false, kReadsY = true;
  template <class T>
  QF_HOST_DEVICE static T f(T x, T lo, T hi) {
    return x < lo ? lo : (x > hi ? hi : x);
  }
  template <class T>
  QF_HOST_DEVICE static T df(T, T y, T lo, T hi) {
    return y > lo && y < hi ? T(1) : T(0);
  }
};

}  // namespace qf::act
