// The int8 lowering: turns a QDQ graph (as imported from a QDQ ONNX file — ours or a foreign one)
// into one that runs quantized convolutions and matmuls on int8 kernels with int32 accumulation,
// keeping activations int8 between layers.
//
// Pattern (symmetric quantization: every zero point involved is 0):
//   q_x -> DequantizeLinear(s_x) -> Conv / Gemm / MatMul <- DequantizeLinear(s_w per tensor or per
//   output channel) <- int8 constant, bias: absent, a float constant, or DequantizeLinear of an int32
//   constant
// becomes qconv2d / qlinear(q_x, w_int8, bias / (s_x s_w)) with, for its output y:
//   y -> QuantizeLinear(s_1)                                -> int8 output at s_1
//   y -> QuantizeLinear(s_1) -> DQ -> Relu/Relu6/Clip -> Q(s_2) -> int8 output at s_2, the
//        intermediate rounding and clipping at s_1 kept (exactly what the file computes)
//   y -> Relu/Relu6/Clip -> QuantizeLinear(s_2)             -> int8 output at s_2
//   anything else                                           -> float output s_x s_w (acc + bias)
// (output stage: quant/ops/int8_epilogue.h). Every intermediate value of a fused chain must have
// that single consumer and not be a graph output. An int8 output known to be non-negative (after
// ReLU / ReLU6) is stored as uint8 — the fast oneDNN int8 path — when all its consumers take uint8,
// keeping int8's saturation at 127.
//
// First, QuantizeLinear nodes of one value with equal scales and zero points (a QDQ file's pair per
// reading node) are merged into one, so the value is quantized once and the pattern below sees it.
//
// What stays in float: quantized ops whose operands do not fit the pattern (asymmetric zero points,
// per-axis activation scales, computed weights), and every other op between a DequantizeLinear and
// a QuantizeLinear (pooling, residual adds, ...), which runs as written. After lowering, each
// DequantizeLinear of a constant left in the graph (weight-only models) is folded into a float
// constant — weights dequantized once at load — and nodes nobody reads are removed.
#pragma once

#include <string>

#include "nn/graph.h"

namespace qf {

struct Int8LoweringReport {
  int int8_ops = 0;        // convolutions and matmuls now on int8 kernels
  int fused_outputs = 0;   // of those, how many requantize their output in the kernel
  int uint8_outputs = 0;   // of those, how many store uint8
  int float_ops = 0;       // convolutions / matmuls fed by a DequantizeLinear left in float
  std::string why_float;   // the first reason, naming the node
  int folded_dequantize = 0;  // DequantizeLinear of constants folded into float constants
};

Int8LoweringReport lower_to_int8(Graph& g);

}  // namespace qf
