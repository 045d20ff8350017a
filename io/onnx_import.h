// ONNX import: an FP32 or QDQ-int8 ONNX classifier (ours, torch.onnx's, onnxruntime's quantizer's,
// Paddle2ONNX's) as a qforge Graph whose parameters, buffers and constants carry their data
// (Init::from), ready for ParamStore, the Executor and the quant/ passes.
//
// What the graph looks like:
//   - one input, renamed `options.input_name` ("image"), shape (-1, C, H, W) or (-1, F): dimension 0
//     is the batch whatever the file says; the other dimensions must be fixed numbers;
//   - the file's outputs in order (output 0 = logits), activations keeping their ONNX names;
//   - conv and linear weights and biases become parameters, BatchNormalization's scale and bias
//     parameters and its running mean and variance buffers, named like torchvision's state dict
//     ("features.0.0.weight"): the file's initializer name when it is already a dotted name, else the
//     node's module path from torch.onnx's node names ("/features/features.1/conv/conv.0/Conv" ->
//     "features.1.conv.0") plus ".weight" / ".bias". So an imported model can be calibrated, quantized,
//     fine-tuned and exported again. Every other initializer becomes a constant; rank-4 constants
//     used by elementwise ops are converted to channels-last (the layout rule of
//     nn/ops/elementwise/elementwise.h).
//   - node names are those module paths (unique; helper nodes such as Q/DQ get "<path>.<op>").
//
// Op mapping (ONNX opsets 11 to 21; 11-17 for FP32 exports, up to 21 so int16 DequantizeLinear of
// weight-only models loads): Conv (2-D, explicit pads or auto_pad) -> conv2d; BatchNormalization
// (inference) -> batch_norm; Relu, LeakyRelu with alpha 0 (how qforge's int8 export writes a
// relu between Q/DQ) -> relu; Clip -> relu6 for bounds (0, 6), relu for (0, +inf), else clip;
// HardSigmoid (ONNX default alpha 0.2), HardSwish, Sigmoid; Add, Mul; GlobalAveragePool,
// AveragePool, MaxPool -> pooling ops; Flatten; Reshape -> reshape in logical order; Gemm -> linear
// (transB 0 or 1, alpha and beta folded into constant operands; transA unsupported); MatMul of a
// 2-D activation by a constant (in, out) -> linear without bias; Identity (alias); Dropout ->
// dropout (identity in eval mode); Concat -> concat; QuantizeLinear / DequantizeLinear ->
// quantize_linear / dequantize_linear (per-tensor or per-axis, block_size 0); Transpose ->
// transpose (the batch axis stays first); Slice with constant bounds -> slice (not along the
// batch); ReduceMean over axes 2 and 3 of a 4-D tensor -> global_avg_pool (+ reshape to (N, C)
// without keepdims); Pad with all-zero pads (torch's AvgPool2d writes one) -> alias, with zeros on
// H and W before a Conv or an AveragePool -> that node's pads (AveragePool then counts the padding,
// count_include_pad 1, as the explicit zeros did). Constant and the
// shape-computing ops of io/onnx_fold.h are folded at import with static shapes.
//
// A Reshape of an activation whose target keeps the per-sample element count copies the batch
// dimension (target[0] -> 0), so models exported with a fixed batch run at any batch size.
//
// Errors (InputError, each naming the file): missing / truncated / non-ONNX file (io/onnx_file.h),
// an opset outside 11..21, an unsupported op ("node '<name>' (op <type>)" and the supported list),
// an unsupported attribute value, inputs that are not one float tensor with fixed non-batch dims.
#pragma once

#include <string>

#include "nn/graph.h"

namespace onnx {
class ModelProto;
}

namespace qf {

struct OnnxImportOptions {
  std::string input_name = "image";  // the graph input gets this name
};

struct OnnxImportInfo {
  int64_t opset = 0;               // of the default ("ai.onnx") domain
  std::string producer;            // producer_name and version, e.g. "pytorch 1.13.0"
  std::string input_onnx_name;     // the input's name in the file
  std::vector<std::string> output_onnx_names;
  bool quantized = false;          // the file holds QuantizeLinear / DequantizeLinear nodes
  int folded_nodes = 0;            // nodes evaluated at import (shape computations, constants)
};

// Imports the ONNX file at `path`.
Graph import_onnx(const std::string& path, const OnnxImportOptions& options = {},
                  OnnxImportInfo* info = nullptr);
// Imports an already-parsed model; `what` names it in messages (usually its path).
Graph import_onnx_model(const onnx::ModelProto& model, const std::string& what,
                        const OnnxImportOptions& options = {}, OnnxImportInfo* info = nullptr);

// The supported ONNX op types (for messages and tests).
const std::vector<std::string>& onnx_import_supported_ops();

}  // namespace qf
