// dequantize_add: a DequantizeLinear whose only reader is an Add, and the ReLU after it, in one
// pass over memory (the int8 pipeline's residual join, quant/inference_fusion.h):
//   y = act((q - zero_point) * scale + r)
//   inputs: q int8 / uint8 (any shape), scale float32 (one value), zero_point (optional, q's
//           type; -1 when absent), r float32 (q's shape)
//   attr activation: "relu" or absent
//   output: y float32, r's shape; may be written over r (forward_in_place_input)
// Each element is computed with the same float operations, in the same order, as the three ops
// it replaces (qdq_math.h, then +, then act::Relu), so the result is bit for bit theirs.
#include "nn/ops/activations/activations_math.h"
#include "nn/ops/op_util.h"
#include "quant/ops/qdq/qdq_math.h"

namespace qf {
namespace {

constexpr int kResidual = 3;

bool has_zero_point(const Node& n) { return n.inputs[2] >= 0; }

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  if (in[0].dtype != DType::i8 && in[0].dtype != DType::u8)
    shape_error(node, "quantized input must be int8 or uint8");
  if (in[1].dtype != DType::f32 || numel(in[1].shape) != 1)
    shape_error(node, "scale must be one float32 value");
  if (has_zero_point(node) && (in[2].dtype != in[0].dtype || numel(in[2].shape) != 1))
    shape_error(node, "zero point must be one value of the quantized input's type");
  if (in[kResidual].dtype != DType::f32 || in[kResidual].shape != in[0].shape)
    shape_error(node, str_cat("the float operand must be float32 of shape ", shape_str(in[0].shape)));
  return {{in[0].shape, DType::f32}};
}

class DequantizeAdd final : public Kernel {
 public:
  explicit DequantizeAdd(const KernelSetup& s)
      : relu_(s.node.attrs.get_string("activation", "") == "relu") {}
  void forward(const ForwardCall& c) override {
    if (c.in[0]->dtype() == DType::i8)
      run<int8_t>(c);
    else
      run<uint8_t>(c);
  }

 private:
  template <class Q>
  void run(const ForwardCall& c) const {
    const Q* q = c.in[0]->data<Q>();
    const float s = c.in[1]->data<float>()[0];
    const int32_t z = c.in[2] ? static_cast<int32_t>(c.in[2]->data<Q>()[0]) : 0;
    const float* r = c.in[kResidual]->data<float>();
    float* y = c.out[0]->data<float>();  // may be r itself
    const int64_t n = c.out[0]->numel();
    const bool relu = relu_;
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t k = 0; k < n; ++k) {
      const float v = dequantize_value(q[k], s, z) + r[k];
      y[k] = relu ? act::Relu::f(v, 0.f, 0.f) : v;
    }
  }

  bool relu_;
};

}  // namespace

void register_dequantize_add(OpRegistry& reg) {
  OpDef d;
  d.type = "dequantize_add";
  d.min_inputs = 4;
  d.max_inputs = 4;
  d.nondiff_inputs = {0, 1, 2, 3};
  d.forward_in_place_input = kResidual;
  d.infer = infer;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<DequantizeAdd>;
  reg.add(std::move(d));
}

}  // namespace qf
