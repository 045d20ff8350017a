// What an inference graph fuses into a conv2d after the convolution and its bias (the pass is
// quant/inference_fusion.h; training graphs never carry these):
//   input 3 `residual` r (N, K, OH, OW), optional: added to the result (a residual Add)
//   attr `activation`: relu, relu6, clip, hardswish or hardsigmoid, applied last, with its two
//        scalars in `activation_alpha` / `activation_beta` (hardsigmoid's alpha and beta, clip's
//        min and max; nn/ops/activations/activations_math.h)
//   y = act(conv(x, w) + b + r)
// and one choice: attr `algorithm` "winograd" (default "direct") asks the oneDNN kernel for
// Winograd at inference (quant/inference_fusion.h choose_winograd; ignored in training).
// On oneDNN these are post-ops (sum, then eltwise) run while the output tile is still in registers,
// instead of one more pass over memory per fused op.
#pragma once

#include <string>

#include "nn/graph.h"
#include "nn/ops/activations/activations_math.h"

namespace qf {

constexpr int kConvResidualInput = 3;

struct ConvEpilogue {
  bool residual = false;
  std::string activation;  // empty: none
  double alpha = 0, beta = 0;
  bool any() const { return residual || !activation.empty(); }
};

// The activations a conv2d can absorb, by op type.
inline bool conv_can_absorb(const std::string& op) {
  return op == "relu" || op == "relu6" || op == "clip" || op == "hardswish" || op == "hardsigmoid";
}

inline ConvEpilogue conv_epilogue(const Node& n) {
  ConvEpilogue e;
  e.residual = n.inputs.size() > kConvResidualInput && n.inputs[kConvResidualInput] >= 0;
  e.activation = n.attrs.get_string("activation", "");
  e.alpha = n.attrs.get_float("activation_alpha", 0.0);
  e.beta = n.attrs.get_float("activation_beta", 0.0);
  return e;
}

// The reference epilogue over n values of y (in place): y += r, then the activation, with the same
// scalar functions as the standalone activation ops.
template <class T>
void apply_conv_epilogue(const ConvEpilogue& e, const T* r, T* y, int64_t n) {
  if (r)
    for (int64_t i = 0; i < n; ++i) y[i] += r[i];
  const T a = static_cast<T>(e.alpha), b = static_cast<T>(e.beta);
  auto each = [&](auto f) {
    for (int64_t i = 0; i < n; ++i) y[i] = f(y[i]);
  };
  if (e.activation == "relu") each([&](T v) { return act::Relu::f(v, a, b); });
  if (e.activation == "relu6") each([&](T v) { return act::Relu6::f(v, a, b); });
  if (e.activation == "clip") each([&](T v) { return act::Clip::f(v, a, b); });
  if (e.activation == "hardswish") each([&](T v) { return act::HardSwish::f(v, a, b); });
  if (e.activation == "hardsigmoid") each([&](T v) { return act::HardSigmoid::f(v, a, b); });
}

}  // namespace qf
