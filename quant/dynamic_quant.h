// Dynamic (weight-only) post-training quantization: PaddleSlim's quant_post_dynamic (Paddle's
// WeightQuantization.quantize_weight_to_int; docs/quantization.md). Activations stay float; the
// weights of the chosen op types are stored as int8 or int16 and dequantized once when the model is
// loaded.
//
// For each weight W of a conv2d / depthwise_conv2d / mul (linear) node of the configured types:
//   channel_wise_abs_max: s_c = max|W_c| / bnt per output channel (axis 0: conv output channels,
//                         linear outputs — Paddle's mul "per column" of its (in, out) weight);
//   abs_max:              one s = max|W| / bnt;
//   q = round_half_even(W / s) (numpy's np.around), stored as int8 (8 bits) or int16 (16 bits);
//   bnt = 2^(bits-1) - 1. The stored scale is the step s, as Paddle stores it (s = 0 -> 1e-8 bnt).
// How the graph dequantizes (ONNX opset 13, what io/onnx_export.h writes):
//   int8:  DequantizeLinear(q, s, zero point 0, axis 0)
//   int16: Cast(q -> float) * s, s shaped (K, 1, 1, 1) for convs and (K, 1) for linear layers —
//          DequantizeLinear takes int16 only from opset 21, Cast and Mul run in every runtime.
// So the file holds int8 / int16 initializers: ~1/4 / ~1/2 of the FP32 file. The test model
// (generate_test_model) holds the float weights q * s instead: what the quantized model computes,
// loadable by anything that runs the FP32 model.
#pragma once

#include "nn/graph.h"
#include "quant/ptq_config.h"

namespace qf {

struct DynamicQuantReport {
  int weights = 0;                 // quantized weights
  int64_t quantized_values = 0;    // their elements
};

// Returns the weight-only quantized graph of `g` (which must carry its weights as data), or with
// `dequantized` the float test model. InputError when nothing matches the op types.
Graph quantize_weights_dynamic(const Graph& g, const DynamicQuantConfig& c, bool dequantized,
                               DynamicQuantReport* report = nullptr);

}  // namespace qf
