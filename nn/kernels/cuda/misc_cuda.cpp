// CUDA kernels of flatten, softmax_cross_entropy, quantize_linear and dequantize_linear (math in
// nn/ops/flatten.cpp, nn/ops/softmax_cross_entropy.cpp, quant/ops/qdq_ops.cpp).
#include <climits>

#include "nn/kernels/cuda/kernel_util.h"

namespace qf::cuda {
namespace {

// flatten: a 4-D channels-last input is transposed per sample from (H*W, C) to (C, H*W), so the
// output is in logical (n, c, h, w) order; otherwise (or when H*W or C is 1) a copy.
class FlattenCuda final : public Kernel {
 public:
  explicit FlattenCuda(const KernelSetup& s) : ctx_(cuda_context_of(s.ctx)) {
    const Shape& x = s.in[0].shape;
    if (x.size() == 4) {
      N_ = x[0];
      C_ = x[1];
      HW_ = x[2] * x[3];
      transpose_ = C_ > 1 && HW_ > 1;
      if (transpose_) require_f32(s, {0});
    }
  }
  void forward(const ForwardCall& c) override {
    if (!transpose_) return device_copy(ctx_, *c.out[0], *c.in[0]);
    batched_transpose(in_f32(c.in[0]), out_f32(c.out[0]), N_, HW_, C_, ctx_.stream());
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    if (!transpose_) return device_copy(ctx_, *c.grad_in[0], *c.grad_out[0]);
    batched_transpose(in_f32(c.grad_out[0]), out_f32(c.grad_in[0]), N_, C_, HW_, ctx_.stream());
  }

 private:
  CudaContext& ctx_;
  int64_t N_ = 0, C_ = 0, HW_ = 0;
  bool transpose_ = false;
};

// softmax_cross_entropy. Labels outside [0, K) are an InputError, as on the CPU: the forward
// records the first bad row on the device and, when the step is not being recorded as a graph,
// reads it back at once (a 4-byte copy and a stream synchronisation per step). Inside a recorded
// step nothing can be read back; a bad label then makes the loss NaN, which the trainer reports as
// divergence.
class SoftmaxXentCuda final : public Kernel {
 public:
  explicit SoftmaxXentCuda(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)),
        name_(s.node.name),
        eps_(s.node.attrs.get_float("label_smoothing", 0.0)),
        N_(s.in[0].shape[0]),
        K_(s.in[0].shape[1]) {
    require_f32(s, {0});
    max_ = device_floats(ctx_, N_);
    log_s_ = device_floats(ctx_, N_);
    row_loss_ = device_floats(ctx_, N_);
    bad_ = ctx_.empty({1}, DType::i32);
  }

  void forward(const ForwardCall& c) override {
    cudaStream_t st = ctx_.stream();
    int32_t* bad = bad_.data<int32_t>();
    QF_CUDA_CHECK(cudaMemsetAsync(bad, 0x7f, sizeof(int32_t), st));  // 0x7f7f7f7f: none
    softmax_xent_forward(in_f32(c.in[0]), c.in[1]->data<int32_t>(), N_, K_, on(), off(),
                         out_f32(&max_), out_f32(&log_s_), out_f32(&row_loss_), out_f32(c.out[0]),
                         bad, st);
    if (ctx_.capturing()) return;
    int32_t host_bad = 0;
    QF_CUDA_CHECK(cudaMemcpyAsync(&host_bad, bad, sizeof host_bad, cudaMemcpyDeviceToHost, st));
    QF_CUDA_CHECK(cudaStreamSynchronize(st));
    if (host_bad >= N_) return;
    int32_t label = 0;
    QF_CUDA_CHECK(cudaMemcpyAsync(&label, c.in[1]->data<int32_t>() + host_bad, sizeof label,
                                  cudaMemcpyDeviceToHost, st));
    QF_CUDA_CHECK(cudaStreamSynchronize(st));
    throw_input_error("node '", name_, "' (softmax_cross_entropy): label ", label, " at position ",
                      host_bad, " is outside [0, ", K_, ") for ", K_, " classes");
  }

  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    softmax_xent_backward(in_f32(c.in[0]), c.in[1]->data<int32_t>(), in_f32(c.grad_out[0]), N_, K_,
                          on(), off(), in_f32(&max_), in_f32(&log_s_), out_f32(c.grad_in[0]),
                          ctx_.stream());
  }

 private:
  float on() const { return static_cast<float>(1.0 - eps_); }
  float off() const { return static_cast<float>(eps_ / static_cast<double>(K_)); }

  CudaContext& ctx_;
  std::string name_;
  double eps_;
  int64_t N_, K_;
  Tensor max_, log_s_, row_loss_, bad_;
};

// quantize_linear / dequantize_linear: x viewed as (outer, axis_len, inner) — the geometry
// quant_geom (quant/ops/qdq_ops.cpp) validated at shape inference: per tensor when the scale has
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

void register_misc_cuda(OpRegistry& reg) {
  reg.set_kernel("flatten", KernelKind::cuda, make_kernel<FlattenCuda>);
  reg.set_kernel("softmax_cross_entropy", KernelKind::cuda, make_kernel<SoftmaxXentCuda>);
  reg.set_kernel("quantize_linear", KernelKind::cuda, make_kernel<QuantizeLinearCuda>);
  reg.set_kernel("dequantize_linear", KernelKind::cuda, make_kernel<DequantizeLinearCuda>);
}

}  // namespace qf::cuda
