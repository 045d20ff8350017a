// quantize_linear / dequantize_linear's CUDA kernels (ONNX semantics: qdq.cpp).
#include "quant/ops/qdq/qdq_cuda.h"

#include "nn/kernels/cuda/kernel_util.h"

namespace qf::cuda {
namespace {

// quantize_linear / dequantize_linear: x viewed as (outer, axis_len, inner) — the geometry
// quant_geom (quant/ops/qdq/qdq.cpp) validated at shape inference: per tensor when the scale has
// one value, else along attribute axis (default 1).
struct QdqGeom {
  int64_t outer = 1, axis_len = 1, inner = 1;
};

QdqGeom qdq_geom(const Node& node, const TensorDesc& x, const TensorDesc& scale) {
  QdqGeom g;
  if (numel(scale.shape) == 1 && scale.shape.size() <= 1) {
    g.inner = numel(x.shape);
    return g;
  }
  const int rank = static_cast<int>(x.shape.size());
  int64_t axis = node.attrs.get_int("axis", 1);
  if (axis < 0) axis += rank;
  g.axis_len = x.shape[axis];
  for (int i = 0; i < axis; ++i) g.outer *= x.shape[i];
  for (int i = static_cast<int>(axis) + 1; i < rank; ++i) g.inner *= x.shape[i];
  return g;
}

int qtype_of(DType t) {
  switch (t) {
    case DType::i8:
      return 0;
    case DType::u8:
      return 1;
    case DType::i16:
      return 2;
    case DType::i32:
      return 3;
    default:
      QF_CHECK(false, "no quantized type ", dtype_name(t));
  }
  return 0;
}

class QuantizeLinearCuda final : public Kernel {
 public:
  explicit QuantizeLinearCuda(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)),
        g_(qdq_geom(s.node, s.in[0], s.in[1])),
        qtype_(qtype_of(s.out[0].dtype)) {}
  void forward(const ForwardCall& c) override {
    const Tensor* zp = c.in.size() > 2 ? c.in[2] : nullptr;
    quantize_linear(in_f32(c.in[0]), in_f32(c.in[1]), zp ? zp->raw() : nullptr, c.out[0]->raw(),
                    qtype_, g_.outer, g_.axis_len, g_.inner, ctx_.stream());
  }

 private:
  CudaContext& ctx_;
  QdqGeom g_;
  int qtype_;
};

class DequantizeLinearCuda final : public Kernel {
 public:
  explicit DequantizeLinearCuda(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)),
        g_(qdq_geom(s.node, s.in[0], s.in[1])),
        qtype_(qtype_of(s.in[0].dtype)) {}
  void forward(const ForwardCall& c) override {
    const Tensor* zp = c.in.size() > 2 ? c.in[2] : nullptr;
    dequantize_linear(c.in[0]->raw(), in_f32(c.in[1]), zp ? zp->raw() : nullptr, out_f32(c.out[0]),
                      qtype_, g_.outer, g_.axis_len, g_.inner, ctx_.stream());
  }

 private:
  CudaContext& ctx_;
  QdqGeom g_;
  int qtype_;
};

}  // namespace

void register_qdq_cuda(OpRegistry& reg) {
  reg.set_kernel("quantize_linear", KernelKind::cuda, make_kernel<QuantizeLinearCuda>);
  reg.set_kernel("dequantize_linear", KernelKind::cuda, make_kernel<DequantizeLinearCuda>);
}

}  // namespace qf::cuda
