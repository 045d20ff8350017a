// The scalar formulas of ONNX QuantizeLinear / DequantizeLinear, shared by the Q/DQ kernels and
// the fused dequantize_add (quant/ops/qdq/dequantize_add.cpp), so they cannot drift apart:
//   q = saturate(round_half_even(x / scale) + zero_point)     (x / scale as ONNX writes it, not
//                                                               x * (1 / scale))
//   x = (q - zero_point) * scale
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

namespace qf {

template <class Q>
inline Q quantize_value(float x, float scale, float zero_point) {
  constexpr float lo = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
  // nearbyint rounds half to even in the default rounding mode, as ONNX requires.
  const float v = std::nearbyint(x / scale) + zero_point;
  return static_cast<Q>(static_cast<int32_t>(std::min(std::max(v, lo), hi)));
}

template <class Q>
inline float dequantize_value(Q q, float scale, int32_t zero_point) {
  return static_cast<float>(static_cast<int32_t>(q) - zero_point) * scale;
}

}  // namespace qf
