// convert: freezes a quant-aware-trained graph for inference (PaddleSlim's convert();
// docs/quantization.md, "Freezing a quant-aware model"), in the two forms the static API returns,
// both as self-contained inference graphs (logits only; every parameter and buffer turned into a
// constant) that io/onnx_export.h writes:
//
// (a) float_grid: the simulated model in float. Each weight is its trained integers q as an int8
//     constant -> dequantize_linear (step T / bnt, per output channel or per tensor), so the
//     convolution reads the grid values q * T / bnt in float (equal to the training forward's up to
//     one float rounding); each activation fake-quant becomes a quantize_linear ->
//     dequantize_linear pair (per tensor, ONNX scale T / bnt, int8 zero point 0); PACT clips and
//     identity observers disappear, as in Paddle's export (a quantizing observer, which quant_aware
//     inserts, becomes a pair like an activation quantizer); BatchNorm stays (folded only where QAT
//     trained a folded conv, fuse_conv_bn) and biases stay float. Why the weights are not float
//     constants (Paddle's float-grid weights are): ONNX Runtime's WeightBiasQuantization (graph
//     optimization level basic and above, so its default) re-quantizes a float conv weight PER
//     TENSOR wherever the conv reads a DequantizeLinear and feeds a QuantizeLinear — after folding
//     the BatchNorm into it — which rounds small channels to nothing (a MobileNetV1 scored 12.56%
//     instead of 80.58%). Stored as int8 through a DequantizeLinear, the weights are left as they
//     are at every level.
//
// (b) int8 (QDQ): int8 weight constants -> dequantize_linear (per output channel, axis 0) -> op;
//     BatchNorm folded into the conv: k_c = gamma_c / sqrt(var_c + eps) scales channel c, which
//     keeps the trained integers (times sign k_c) and moves |k_c| into the channel's scale, so the
//     folding is exact; bias' = (b - mean) k + beta, stored as int32 with scale s_x * s_w,c (ONNX
//     Runtime forms int8 convolutions only with a quantized bias). Activation quantizers become
//     quantize_linear/dequantize_linear pairs, and every quantized conv also gets a pair on its
//     output (after the folded BatchNorm, before its activation), with the scale of the value that
//     ends the conv's unit (see quant/quant_aware.h: exact for relu/relu6), or of the observer
//     there. So ONNX Runtime sees DequantizeLinear -> Conv -> QuantizeLinear everywhere and runs
//     int8 convolutions, while TensorRT still fuses conv + activation + residual add around them.
//
// Integers: q = round_half_away((bnt / T) * clip(w, -T, T)), the training formula, so the int8
// model holds exactly the weights training simulated (Paddle's freeze uses numpy's half-to-even
// rounding instead; it differs only on exact ties). Scales: channel-wise and abs_max weight
// thresholds are recomputed from the final weights (what the evaluation forward uses); EMA and
// window types use the stored scale. Activations use the stored scale (for abs_max activations:
// the last training batch's, since a deployed graph needs a static scale).
//
// Export supports 8-bit activations and weights of at most 8 bits (int8 storage, ONNX opset 13);
// anything else is an InputError naming the key.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "nn/graph.h"

namespace qf {

enum class ConvertForm : uint8_t { float_grid, int8 };

struct ConvertReport {
  int weights = 0;           // quantized weights
  int activation_pairs = 0;  // quantize/dequantize pairs on activations
  int output_pairs = 0;      // pairs added on conv outputs
  int folded_bn = 0;         // BatchNorms folded into convs
  int float_outputs = 0;     // quantized convs left without an output pair (no known range)
  // int8 form: for each folded BatchNorm, by the name of its beta (bias) parameter, what storing
  // the folded bias as int32 on the accumulator's grid adds to each channel's output:
  // dequantized int32 bias minus the float folded bias (at most half a step s_x * s_w,c in size).
  std::map<std::string, std::vector<float>> bias_rounding;
};

// `state`: every parameter and buffer of `qat` by name (ParamStore::state_dict()).
Graph convert(const Graph& qat, const TensorMap& state, ConvertForm form,
              ConvertReport* report = nullptr);

// Bias alignment (`qforge qat`, quant.align_folded_bias): the int8 form stores each folded
// BatchNorm bias beta - mean * k as int32 on the accumulator's grid s_x * s_w,c * |k_c|, a rounding
// the simulation (BatchNorm unfolded, in float) never makes; where one accumulator step is a large
// part of an output step (a channel with a large k_c) it flips that channel's outputs. This moves
// each folded BatchNorm's beta in `state` by exactly that rounding (ConvertReport::bias_rounding),
// so the simulated model, the float-grid export and the int8 export compute the same function; a
// second convert() then finds every folded bias on the grid. Returns the number of BatchNorms
// moved; `max_shift` (optional) receives the largest |change| of any beta.
int align_folded_bias(const Graph& qat, TensorMap& state, double* max_shift = nullptr);

// The logits-only inference graph of a float model (loss, labels and training-only nodes
// removed), with parameters and buffers turned into constants from `state`.
Graph inference_graph(const Graph& g, const TensorMap& state);

}  // namespace qf
