#include "io/onnx_file.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <climits>
#include <cstring>
#include <fstream>

#include "io/atomic_file.h"
#include "nn/error.h"
#include "nn/input_file.h"

namespace qf {

void read_onnx_model(const std::string& path, onnx::ModelProto& model) {
  // protobuf reads at most 2 GiB; larger models keep their weights in external data files.
  const std::string bytes = read_input_file(path, "ONNX model", (uint64_t{1} << 31) - 1);
  parse_onnx_model(bytes.data(), bytes.size(), "'" + path + "'", model);
}

void parse_onnx_model(const void* data, size_t size, const std::string& what,
                      onnx::ModelProto& model) {
  if (size > static_cast<size_t>(INT_MAX) || !model.ParseFromArray(data, static_cast<int>(size)))
    throw_input_error(what, " is not a valid ONNX file (protobuf parse failed: truncated or not "
                      "ONNX)");
  if (!model.has_graph()) throw_input_error(what, " is not an ONNX model: it has no graph");
  if (model.ir_version() <= 0)
    throw_input_error(what, " is not an ONNX model: ir_version ", model.ir_version());
}

std::string check_onnx_model(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

void write_onnx_model(const std::string& path, const onnx::ModelProto& model) {
  write_file_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    if (!out || !model.SerializeToOstream(&out))
      throw_input_error("cannot write ONNX model '", tmp, "'");
    out.close();
    if (!out) throw_input_error("cannot write ONNX model '", tmp, "'");
  });
}

namespace {

DType dtype_of_onnx(int t, const std::string& what) {
  switch (t) {
    case onnx::TensorProto::FLOAT: return DType::f32;
    case onnx::TensorProto::DOUBLE: return DType::f64;
    case onnx::TensorProto::INT8: return DType::i8;
    case onnx::TensorProto::UINT8: return DType::u8;
    case onnx::TensorProto::INT16: return DType::i16;
    case onnx::TensorProto::INT32: return DType::i32;
    case onnx::TensorProto::INT64: return DType::i64;
    default:
      throw_input_error(what, ": tensor element type ", onnx::TensorProto::DataType_Name(t),
                        " is not supported (allowed: FLOAT, DOUBLE, INT8, UINT8, INT16, INT32, INT64)");
  }
}

int onnx_of_dtype(DType t) {
  switch (t) {
    case DType::f32: return onnx::TensorProto::FLOAT;
    case DType::f64: return onnx::TensorProto::DOUBLE;
    case DType::i8: return onnx::TensorProto::INT8;
    case DType::u8: return onnx::TensorProto::UINT8;
    case DType::i16: return onnx::TensorProto::INT16;
    case DType::i32: return onnx::TensorProto::INT32;
    case DType::i64: return onnx::TensorProto::INT64;
  }
  return onnx::TensorProto::UNDEFINED;
}

}  // namespace

Tensor tensor_from_onnx(const onnx::TensorProto& t, const std::string& what) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw_input_error(what, ": tensor '", t.name(), "' keeps its data in an external file, which "
                      "qforge does not read (save the model with the data embedded)");
  const DType dt = dtype_of_onnx(t.data_type(), what + ": tensor '" + t.name() + "'");
  Shape shape(t.dims().begin(), t.dims().end());
  for (int64_t d : shape)
    if (d < 0) throw_input_error(what, ": tensor '", t.name(), "' has a negative dimension");
  // A tensor's data is in the file (at most 2 GiB), so a larger element count is a lie.
  const std::optional<int64_t> count = checked_numel(shape);
  if (!count || !checked_mul(*count, static_cast<int64_t>(dtype_size(dt))) ||
      *count * static_cast<int64_t>(dtype_size(dt)) > INT_MAX)
    throw_input_error(what, ": tensor '", t.name(), "' has shape ", shape_str(shape),
                      ", more data than an ONNX file holds");
  // The data must be there before anything is allocated: a few bytes of file must not claim
  // gigabytes.
  const int64_t n = *count;
  const size_t bytes = static_cast<size_t>(n) * dtype_size(dt);
  if (t.has_raw_data()) {
    if (t.raw_data().size() != bytes)
      throw_input_error(what, ": tensor '", t.name(), "' has ", t.raw_data().size(),
                        " bytes of data, its shape ", shape_str(shape), " needs ", bytes);
    Tensor r = Tensor::empty(shape, dt);
    std::memcpy(r.raw(), t.raw_data().data(), bytes);
    return r;
  }
  const int64_t have = dt == DType::f32   ? t.float_data_size()
                       : dt == DType::f64 ? t.double_data_size()
                       : dt == DType::i64 ? t.int64_data_size()
                                          : t.int32_data_size();  // the small integer types
  if (have != n)
    throw_input_error(what, ": tensor '", t.name(), "' has ", have, " values, its shape ",
                      shape_str(shape), " needs ", n);
  Tensor r = Tensor::empty(shape, dt);
  switch (dt) {
    case DType::f32:
      std::copy(t.float_data().begin(), t.float_data().end(), r.data<float>());
      break;
    case DType::f64:
      std::copy(t.double_data().begin(), t.double_data().end(), r.data<double>());
      break;
    case DType::i64:
      std::copy(t.int64_data().begin(), t.int64_data().end(), r.data<int64_t>());
      break;
    case DType::i8:
    case DType::u8:
    case DType::i16:
    case DType::i32: {
      // ONNX stores these small integer types widened in int32_data.
      for (int64_t i = 0; i < n; ++i) {
        const int32_t v = t.int32_data(static_cast<int>(i));
        switch (dt) {
          case DType::i8: r.data<int8_t>()[i] = static_cast<int8_t>(v); break;
          case DType::u8: r.data<uint8_t>()[i] = static_cast<uint8_t>(v); break;
          case DType::i16: r.data<int16_t>()[i] = static_cast<int16_t>(v); break;
          default: r.data<int32_t>()[i] = v; break;
        }
      }
      break;
    }
  }
  return r;
}

void tensor_to_onnx(const Tensor& t, const std::string& name, onnx::TensorProto& out) {
  QF_CHECK(t.device().is_cpu(), "ONNX tensors are written from host memory");
  out.Clear();
  out.set_name(name);
  out.set_data_type(onnx_of_dtype(t.dtype()));
  for (int64_t d : t.shape()) out.add_dims(d);
  out.set_raw_data(std::string(static_cast<const char*>(t.raw()), t.nbytes()));
}

OnnxInitializers read_onnx_initializers(const std::string& path) {
  onnx::ModelProto m;
  read_onnx_model(path, m);
  OnnxInitializers r;
  for (const onnx::TensorProto& t : m.graph().initializer()) {
    r.tensors[t.name()] = tensor_from_onnx(t, path);
    r.order.push_back(t.name());
  }
  return r;
}

}  // namespace qf
