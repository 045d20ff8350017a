// The output stage shared by the int8 compute ops (qconv2d, qlinear): how an int32 accumulator
// becomes the op's output — float, or int8 / uint8 requantized for the next layer — with the
// activation and the intermediate rounding of a Q -> DQ -> activation -> Q chain folded in.
//
// For output channel k, with acc the int32 sum of x_q * w_q over the window:
//   v = scales[k] * (acc + bias[k])          scales[k] = s_x * s_w[k] / s_y (s_y = 1 for float out),
//                                            bias in accumulator units: b_float / (s_x * s_w[k])
//   if round_clip: v = clamp(round_half_even(v), qmin, qmax)    the intermediate Q of a chain
//   act:   none | relu: v = max(v, 0) | clip: v = clamp(v, act_min, act_max)   (output units)
//   v = v * post_scale                        s_1 / s_2 when a chain requantizes to another scale
//   if out_max given: v = min(v, out_max)     keeps int8's saturation when an output known to be
//                                             non-negative is stored as uint8
//   out:   f32: v;  i8 / u8: saturate(round_half_even(v))
// Attributes: scales (1 or K values), out_dtype ("f32", "i8", "u8"), round_clip (0/1), qmin, qmax,
// act ("none", "relu", "clip"), act_min, act_max, post_scale (1), out_max (optional).
//
// With this stage a QDQ model's DQ -> Conv -> Q -> DQ -> Relu -> Q computes exactly what ONNX
// Runtime computes (QLinearConv, then Relu between DQ and Q): each rounding happens where the file
// puts it. The oneDNN kernels express it as output scales plus eltwise post-ops (round, clip, relu,
// linear) and the saturating conversion of the destination.
#pragma once

#include <cmath>
#include <limits>
#include <dnnl.hpp>
#include <string>
#include <vector>

#include "nn/graph.h"
#include "nn/op_registry.h"

namespace qf {

struct Int8Epilogue {
  std::vector<float> scales;  // 1 or K
  DType out = DType::f32;
  bool round_clip = false;
  float qmin = -128, qmax = 127;
  enum class Act : uint8_t { none, relu, clip } act = Act::none;
  float act_min = 0, act_max = 0;
  float post_scale = 1;
  float out_max = std::numeric_limits<float>::infinity();

  // Parses and validates the attributes of `node` for K output channels (InputError on misuse).
  static Int8Epilogue of(const Node& node, int64_t K);
  float scale(int64_t k) const { return scales.size() == 1 ? scales[0] : scales[k]; }

  // The output value for channel k from accumulator (acc + bias) — the reference formula.
  float apply(int64_t k, float acc_plus_bias) const {
    float v = scale(k) * acc_plus_bias;
    if (round_clip) v = std::fmin(std::fmax(std::nearbyint(v), qmin), qmax);
    if (act == Act::relu) v = std::fmax(v, 0.f);
    if (act == Act::clip) v = std::fmin(std::fmax(v, act_min), act_max);
    return std::fmin(v * post_scale, out_max);
  }
  // Converts an output value to the destination type (round half to even, saturate).
  template <class T>
  static T saturate(float v) {
    const float lo = static_cast<float>(std::numeric_limits<T>::min());
    const float hi = static_cast<float>(std::numeric_limits<T>::max());
    return static_cast<T>(std::fmin(std::fmax(std::nearbyint(v), lo), hi));
  }

  // oneDNN attributes: output scales and the post-op chain.
  dnnl::primitive_attr dnnl_attr(int scale_mask) const;
};

// Output descriptor dtype from the out_dtype attribute.
DType int8_out_dtype(const Node& node);

}  // namespace qf
