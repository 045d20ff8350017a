// cast (ONNX Cast): y = x converted to the element type `to` ("float32", "float64", "int8",
// "uint8", "int16", "int32", "int64"), element by element; integers from floats round toward zero
// as C++ and ONNX do.
// Layout-free: each element keeps its place, so it serves any tensor. Used by weight-only int16
// models (int16 weights -> cast -> mul by the per-channel step), which opsets below 21 must
// write without an int16 DequantizeLinear. Forward only (no gradient flows through a cast).
#include "nn/ops/op_util.h"

namespace qf {
namespace {

DType to_of(const Node& node) {
  if (!node.attrs.has("to")) shape_error(node, "attribute to is required");
  try {
    return parse_dtype(node.attrs.get_string("to"));
  } catch (const InputError& e) {
    shape_error(node, e.what());
  }
}

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  return {{in[0].shape, to_of(node)}};
}

template <class From, class To>
void convert(const void* x, void* y, int64_t n) {
  const From* a = static_cast<const From*>(x);
  To* b = static_cast<To*>(y);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) b[i] = static_cast<To>(a[i]);
}

template <class From>
void convert_from(DType to, const void* x, void* y, int64_t n) {
  switch (to) {
    case DType::f32:
      return convert<From, float>(x, y, n);
    case DType::f64:
      return convert<From, double>(x, y, n);
    case DType::i8:
      return convert<From, int8_t>(x, y, n);
    case DType::u8:
      return convert<From, uint8_t>(x, y, n);
    case DType::i16:
      return convert<From, int16_t>(x, y, n);
    case DType::i32:
      return convert<From, int32_t>(x, y, n);
    case DType::i64:
      return convert<From, int64_t>(x, y, n);
  }
}

class Cast final : public Kernel {
 public:
  explicit Cast(const KernelSetup&) {}
  void forward(const ForwardCall& c) override {
    const DType to = c.out[0]->dtype();
    const void* x = c.in[0]->raw();
    void* y = c.out[0]->raw();
    const int64_t n = c.in[0]->numel();
    switch (c.in[0]->dtype()) {
      case DType::f32:
        return convert_from<float>(to, x, y, n);
      case DType::f64:
        return convert_from<double>(to, x, y, n);
      case DType::i8:
        return convert_from<int8_t>(to, x, y, n);
      case DType::u8:
        return convert_from<uint8_t>(to, x, y, n);
      case DType::i16:
        return convert_from<int16_t>(to, x, y, n);
      case DType::i32:
        return convert_from<int32_t>(to, x, y, n);
      case DType::i64:
        return convert_from<int64_t>(to, x, y, n);
    }
  }
};

}  // namespace

void register_cast(OpRegistry& reg) {
  OpDef d;
  d.type = "cast";
  d.nondiff_inputs = {0};
  d.infer = infer;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<Cast>;
  reg.add(std::move(d));
}

}  // namespace qf
