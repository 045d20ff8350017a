// quantize_linear and dequantize_linear: ONNX QuantizeLinear / DequantizeLinear (opset 13+), the
// ops of a deployed QDQ model. Forward only (quant-aware training uses the fake-quant ops).
//
//   quantize_linear(x, scale, zero_point?)  q = saturate(round_half_even(x / scale) + zero_point)
//   dequantize_linear(q, scale, zero_point?) x = (q - zero_point) * scale
//
// scale: float32, one value (per tensor) or a 1-D tensor of x.shape[axis] values (per axis; attr
// axis, default 1, negative counts from the end). zero_point: same shape as scale; its element type
// is the quantized type: int8 or uint8 (int16 for weight-only int16 models); without it quantize
// produces uint8 and zero point 0, as ONNX says. dequantize_linear also takes int32 (biases
// quantized with scale = input scale * weight scale).
//
// Layout: per-tensor (de)quantization is elementwise, so it works on any tensor. Per-axis
// (de)quantization is for weights, which keep their row-major layout (axis 0: conv output
// channels); a per-axis scale on a 4-D activation (channels-last) is rejected at shape inference.
// Note the scale here is ONNX's step (threshold / 127), not Paddle's threshold.
#include <algorithm>
#include <cstdint>

#include "nn/ops/op_util.h"
#include "quant/ops/qdq/qdq_math.h"

namespace qf {
namespace {

struct QuantGeom {
  int64_t outer = 1, axis_len = 1, inner = 1;  // per-axis: x viewed as (outer, axis_len, inner)
  bool per_axis = false;
};

QuantGeom quant_geom(const Node& node, const TensorDesc& x, const TensorDesc& scale,
                     const TensorDesc* zp) {
  QuantGeom g;
  const int64_t n = numel(scale.shape);
  if (scale.dtype != DType::f32) shape_error(node, "scale must be float32");
  if (zp && zp->shape != scale.shape)
    shape_error(node, str_cat("zero point shape ", shape_str(zp->shape),
                              " differs from scale shape ", shape_str(scale.shape)));
  if (n == 1 && scale.shape.size() <= 1) {
    g.inner = numel(x.shape);
    return g;
  }
  if (scale.shape.size() != 1)
    shape_error(node, str_cat("scale must be a scalar or 1-D, got ", shape_str(scale.shape)));
  const int rank = static_cast<int>(x.shape.size());
  int64_t axis = node.attrs.get_int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank)
    shape_error(
        node, str_cat("axis ", node.attrs.get_int("axis", 1), " is out of range for rank ", rank));
  if (x.shape[axis] != n)
    shape_error(node, str_cat("per-axis scale has ", n, " values, axis ", axis, " of ",
                              shape_str(x.shape), " has ", x.shape[axis]));
  g.per_axis = true;
  g.axis_len = n;
  for (int i = 0; i < axis; ++i) g.outer *= x.shape[i];
  for (int i = static_cast<int>(axis) + 1; i < rank; ++i) g.inner *= x.shape[i];
  return g;
}

// The formulas (qdq_math.h) over n contiguous elements with one scale and zero point, written so
// that the compiler vectorises them.
template <class Q>
void quantize_run(const float* __restrict x, float s, float z, Q* __restrict q, int64_t n) {
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) q[k] = quantize_value<Q>(x[k], s, z);
}

template <class Q>
void dequantize_run(const Q* __restrict q, float s, int32_t z, float* __restrict x, int64_t n) {
#pragma omp simd
  for (int64_t k = 0; k < n; ++k) x[k] = dequantize_value(q[k], s, z);
}

// Per tensor, threads take equal contiguous parts of the flat tensor; per axis, (outer x axis)
// rows of `inner` elements, each with its channel's scale.
template <class F>
void for_runs(const QuantGeom& g, F run) {
  const int64_t rows = g.outer * g.axis_len;
  if (!g.per_axis) {
    const int64_t n = g.inner, parts = n > 65536 ? 64 : 1, step = (n + parts - 1) / parts;
#pragma omp parallel for schedule(static) if (parts > 1)
    for (int64_t p = 0; p < parts; ++p) {
      const int64_t begin = std::min(p * step, n);
      run(0, begin, std::min(begin + step, n) - begin);
    }
    return;
  }
#pragma omp parallel for schedule(static) if (rows * g.inner > 65536)
  for (int64_t r = 0; r < rows; ++r) run(r % g.axis_len, r * g.inner, g.inner);
}

template <class Q>
void quantize(const float* x, const float* scale, const Q* zp, Q* q, const QuantGeom& g) {
  for_runs(g, [&](int64_t a, int64_t begin, int64_t n) {
    quantize_run(x + begin, scale[a], zp ? static_cast<float>(zp[a]) : 0.f, q + begin, n);
  });
}

template <class Q>
void dequantize(const Q* q, const float* scale, const Q* zp, float* x, const QuantGeom& g) {
  for_runs(g, [&](int64_t a, int64_t begin, int64_t n) {
    dequantize_run(q + begin, scale[a], zp ? static_cast<int32_t>(zp[a]) : 0, x + begin, n);
  });
}

bool has_zp(const Node& n) {
  return n.inputs.size() > 2 && n.inputs[2] >= 0;
}

std::vector<TensorDesc> infer_quantize(const Node& node, std::span<const TensorDesc> in) {
  if (in[0].dtype != DType::f32) shape_error(node, "input must be float32");
  const TensorDesc* zp = has_zp(node) ? &in[2] : nullptr;
  const QuantGeom g = quant_geom(node, in[0], in[1], zp);
  if (g.per_axis && in[0].shape.size() == 4 && node.attrs.get_int("axis", 1) != 0)
    shape_error(node,
                "per-axis quantization of a 4-D activation is not supported (quantize "
                "activations per tensor)");
  const DType t = zp ? zp->dtype : DType::u8;
  if (t != DType::i8 && t != DType::u8 && t != DType::i16)
    shape_error(node, str_cat("zero point type ", dtype_name(t),
                              " is not supported (allowed: int8, "
                              "uint8, int16)"));
  return {{in[0].shape, t}};
}

std::vector<TensorDesc> infer_dequantize(const Node& node, std::span<const TensorDesc> in) {
  const DType t = in[0].dtype;
  if (t != DType::i8 && t != DType::u8 && t != DType::i16 && t != DType::i32)
    shape_error(node, str_cat("input type ", dtype_name(t),
                              " is not supported (allowed: int8, "
                              "uint8, int16, int32)"));
  const TensorDesc* zp = has_zp(node) ? &in[2] : nullptr;
  if (zp && zp->dtype != t)
    shape_error(node, str_cat("zero point type ", dtype_name(zp->dtype),
                              " differs from input type ", dtype_name(t)));
  const QuantGeom g = quant_geom(node, in[0], in[1], zp);
  if (g.per_axis && in[0].shape.size() == 4 && node.attrs.get_int("axis", 1) != 0)
    shape_error(node, "per-axis dequantization of a 4-D activation is not supported");
  return {{in[0].shape, DType::f32}};
}

class QuantizeLinear final : public Kernel {
 public:
  explicit QuantizeLinear(const KernelSetup& s)
      : g_(quant_geom(s.node, s.in[0], s.in[1], has_zp(s.node) ? &s.in[2] : nullptr)) {}
  void forward(const ForwardCall& c) override {
    const Tensor* zp = c.in.size() > 2 ? c.in[2] : nullptr;
    const float* x = c.in[0]->data<float>();
    const float* s = c.in[1]->data<float>();
    switch (c.out[0]->dtype()) {
      case DType::i8:
        quantize<int8_t>(x, s, zp ? zp->data<int8_t>() : nullptr, c.out[0]->data<int8_t>(), g_);
        break;
      case DType::u8:
        quantize<uint8_t>(x, s, zp ? zp->data<uint8_t>() : nullptr, c.out[0]->data<uint8_t>(), g_);
        break;
      default:
        quantize<int16_t>(x, s, zp ? zp->data<int16_t>() : nullptr, c.out[0]->data<int16_t>(), g_);
    }
  }

 private:
  QuantGeom g_;
};

class DequantizeLinear final : public Kernel {
 public:
  explicit DequantizeLinear(const KernelSetup& s)
      : g_(quant_geom(s.node, s.in[0], s.in[1], has_zp(s.node) ? &s.in[2] : nullptr)) {}
  void forward(const ForwardCall& c) override {
    const Tensor* zp = c.in.size() > 2 ? c.in[2] : nullptr;
    const float* s = c.in[1]->data<float>();
    float* x = c.out[0]->data<float>();
    switch (c.in[0]->dtype()) {
      case DType::i8:
        dequantize<int8_t>(c.in[0]->data<int8_t>(), s, zp ? zp->data<int8_t>() : nullptr, x, g_);
        break;
      case DType::u8:
        dequantize<uint8_t>(c.in[0]->data<uint8_t>(), s, zp ? zp->data<uint8_t>() : nullptr, x, g_);
        break;
      case DType::i16:
        dequantize<int16_t>(c.in[0]->data<int16_t>(), s, zp ? zp->data<int16_t>() : nullptr, x, g_);
        break;
      default:
        dequantize<int32_t>(c.in[0]->data<int32_t>(), s, zp ? zp->data<int32_t>() : nullptr, x, g_);
    }
  }

 private:
  QuantGeom g_;
};

}  // namespace

void register_qdq_ops(OpRegistry& reg) {
  OpDef q;
  q.type = "quantize_linear";
  q.min_inputs = 2;
  q.max_inputs = 3;
  q.nondiff_inputs = {0, 1, 2};
  q.infer = infer_quantize;
  q.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<QuantizeLinear>;
  reg.add(std::move(q));
  OpDef d;
  d.type = "dequantize_linear";
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.nondiff_inputs = {0, 1, 2};
  d.infer = infer_dequantize;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<DequantizeLinear>;
  reg.add(std::move(d));
}

}  // namespace qf
