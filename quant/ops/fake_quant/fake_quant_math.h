// The fake-quant formulas, written once for the CPU kernels, the CUDA kernels, the convert pass and
// the benchmarks (docs/quantization.md derives them). Everything here is a host/device function of
// scalars; kernels differ only in how they walk memory and reduce.
//
// Notation: b bits, bnt = 2^(b-1) - 1 (127 for 8 bits); T is Paddle's clipping threshold in float
// units (the ONNX step is T / bnt).
//   inv(T)   = 1 / (T + 1e-6) if T <= 1e-30, else 1 / T            (an all-zero tensor maps to 0)
//   level(x) = round_half_away(bnt * inv(T) * clip(x, -T, T))       in [-bnt, bnt]
//   qdq(x)   = level(x) * T / bnt                                   (Paddle's round_type 1)
// The operation order is Paddle's kernel's, so float results are bit-identical to it.
//
// Scale updates, in float as Paddle computes them, with the batch max m:
//   moving_average_abs_max:  state = r*state + 1;  accum = r*accum + m;  T = accum / state
//     Both products-plus-sums are one fused multiply-add (std::fma): what the CPU build computed
//     when the compiler contracted them, now the same bits on every device.
//   range_abs_max at iteration it >= 1 with window W: slot = it mod W; removed = window[slot];
//     window[slot] = m; T = m if T_last < m, else max(window[0 : min(it, W)]) when the evicted
//     value was the window's maximum (|removed - T_last| < 1e-6), else T_last.
#pragma once

#include <cmath>
#include <cstdint>

#include "nn/kernels/host_device.h"

namespace qf {

QF_HOST_DEVICE constexpr int64_t quant_bin_count(int64_t bits) {
  return (int64_t{1} << (bits - 1)) - 1;
}

// Paddle's guarded reciprocal of a threshold.
template <class T>
QF_HOST_DEVICE inline T inverse_threshold(T s) {
  return s <= static_cast<T>(1e-30) ? T(1) / (s + static_cast<T>(1e-6)) : T(1) / s;
}

// Round half away from zero (std::round), written so that compilers vectorise it: trunc is exact,
// and so is the fractional part v - trunc(v).
template <class T>
QF_HOST_DEVICE inline T round_half_away(T v) {
  const T t = std::trunc(v);
  const T f = v - t;
  return t + (f >= T(0.5) ? T(1) : (f <= T(-0.5) ? T(-1) : T(0)));
}

// The integer level of x: clip to [-s, s], scale by k = bnt * inv(s), round half away from zero.
template <class T>
QF_HOST_DEVICE inline T fake_quant_level(T x, T s, T k) {
  const T c = x < -s ? -s : (x > s ? s : x);
  return round_half_away(k * c);
}

// One element quantized and dequantized (round_type 1).
template <class T>
QF_HOST_DEVICE inline T fake_qdq(T x, T s, T k, T bnt) {
  return fake_quant_level(x, s, k) * s / bnt;
}

// Paddle's round_type 0 (ties to even, no clip before rounding; the level saturates to
// [-bnt - 1, bnt]); only the bandwidth benchmark runs it.
template <class T>
QF_HOST_DEVICE inline T fake_qdq_round_even(T x, T s, T k, T bnt) {
  T q = std::rint(k * x);
  q = q < -bnt - T(1) ? -bnt - T(1) : (q > bnt ? bnt : q);
  return q * s / bnt;
}

// moving_average_abs_max's EMA with the batch max m (float, fused as the header comment says).
QF_HOST_DEVICE inline void ema_scale_update(float rate, float m, float& scale, float& state,
                                            float& accum) {
  state = std::fma(rate, state, 1.f);
  accum = std::fma(rate, accum, m);
  scale = accum / state;
}

// range_abs_max: the window slot iteration `it` writes, and how many slots hold data.
QF_HOST_DEVICE inline int64_t range_window_slot(int64_t it, int64_t window_size) {
  return it % window_size;
}
QF_HOST_DEVICE inline int64_t range_window_filled(int64_t it, int64_t window_size) {
  return it > window_size ? window_size : it;
}
// The new scale after `m` replaced `removed` in the window; `window_max()` (the max |w| over the
// filled slots, a reduction the caller runs its own way) is called only when the evicted value was
// the window's maximum.
template <class T, class WindowMax>
QF_HOST_DEVICE inline T range_abs_max_next(T last, T m, T removed, WindowMax&& window_max) {
  if (last < m) return m;
  if (std::fabs(removed - last) < T(1e-6)) return window_max();
  return last;
}

}  // namespace qf
