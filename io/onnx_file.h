// Reading and writing ONNX model files (protobuf ModelProto through Debian's libonnx), with the
// checks every ONNX consumer in qforge needs. The graph-level import and export live beside this
// (io/onnx_import.*, io/onnx_export.*); this file only moves ModelProtos in and out of files.
#pragma once

#include <map>
#include <string>

#include "io/safetensors.h"

namespace onnx {
class ModelProto;
class TensorProto;
}  // namespace onnx

namespace qf {

// Parses an ONNX file. A missing, non-regular, truncated or non-ONNX file is an InputError naming the file
// and what is wrong (the protobuf parse error, or a ModelProto without a graph).
void read_onnx_model(const std::string& path, onnx::ModelProto& model);
// The same checks on bytes already in memory; `what` names them in messages ("'model.onnx'").
void parse_onnx_model(const void* data, size_t size, const std::string& what,
                      onnx::ModelProto& model);

// Runs libonnx's checker (full check including shape inference where libonnx supports it).
// Returns an empty string when the model passes, else the checker's message.
std::string check_onnx_model(const onnx::ModelProto& model);

// Serialises atomically (temporary file + rename).
void write_onnx_model(const std::string& path, const onnx::ModelProto& model);

// A TensorProto as a host tensor (raw_data or typed fields; float, double, int8, uint8, int16,
// int32, int64). InputError naming `what` for unsupported types or inconsistent sizes.
Tensor tensor_from_onnx(const onnx::TensorProto& t, const std::string& what);
// Fills a TensorProto (name, dims, data_type, raw_data) from a host tensor.
void tensor_to_onnx(const Tensor& t, const std::string& name, onnx::TensorProto& out);

// All initializers of an ONNX file, by name, in file order (name -> tensor) and as an ordered list
// of names (weight loading falls back to matching by order and shape).
struct OnnxInitializers {
  TensorMap tensors;
  std::vector<std::string> order;
};
OnnxInitializers read_onnx_initializers(const std::string& path);

}  // namespace qf
