// ONNX export of an inference graph (opset 13, through Debian's libonnx).
//
// Input: a logits-only graph whose parameters and buffers are constants — inference_graph() of an
// FP32 model, or convert() of a quant-aware one (quant/convert.h). Every constant becomes an
// initializer (int8 weights stay int8: the QDQ file is ~4x smaller than the FP32 one). The file
// describes the logical NCHW computation ONNX defines; qforge's channels-last memory layout is an
// implementation detail that never reaches the file, and weights are row-major already.
//
// Op mapping (ours -> ONNX): clip -> Clip, reshape -> Reshape (target shape as an int64
// initializer), concat -> Concat, cast -> Cast (weight-only int16 models), conv2d -> Conv,
// batch_norm -> BatchNormalization, relu -> Relu, relu6 -> Clip(0, 6), sigmoid -> Sigmoid,
// hardsigmoid -> HardSigmoid, hardswish -> x * HardSigmoid(x) (HardSwish needs opset 14),
// add -> Add, mul -> Mul, max_pool2d -> MaxPool, avg_pool2d -> AveragePool, global_avg_pool ->
// GlobalAveragePool, flatten -> Flatten, linear -> Gemm(transB = 1), dropout -> Identity,
// quantize_linear -> QuantizeLinear, dequantize_linear -> DequantizeLinear (axis kept for
// per-channel scales: opset 13 is the first with per-axis QDQ).
// A relu between a DequantizeLinear and QuantizeLinear (the int8 form's conv -> Q/DQ -> relu ->
// Q/DQ) is written as LeakyRelu with alpha 0, the same function: ONNX Runtime has an int8 kernel
// for LeakyRelu (QLinearLeakyRelu) and none for Relu, so the block stays in int8 (measured on
// MobileNetV1 224, batch 16, 2 threads, in one run: 1.26x -> 1.64x over FP32); TensorRT fuses
// either into the convolution. transpose -> Transpose, slice -> Slice (bounds as int64
// initializers). Graph inputs get a symbolic batch dimension "N", outputs their inferred shape
// with the same symbolic batch (so full shape inference agrees with what the file declares).
// Anything else
// (fake-quant ops of a graph that was not converted, the loss) is an InputError naming the node.
#pragma once

#include <string>

#include "nn/graph.h"

namespace onnx {
class ModelProto;
}

namespace qf {

struct OnnxExportOptions {
  std::string graph_name = "qforge";
  std::string doc;         // stored as the model's doc_string
  std::string input_name;  // the graph input's name in the file; empty: its name in the graph
                           // (an imported model's file name, OnnxImportInfo::input_onnx_name)
};

// Builds the ModelProto (checked with libonnx's checker; a failure is an InternalError naming it).
void build_onnx_model(const Graph& g, onnx::ModelProto& model, const OnnxExportOptions& o = {});
// Builds, checks and writes `path` atomically.
void export_onnx(const Graph& g, const std::string& path, const OnnxExportOptions& o = {});

}  // namespace qf
