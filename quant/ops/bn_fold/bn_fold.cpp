// The two ops of Conv+BatchNorm folding during quant-aware training (quant_aware with
// fuse_conv_bn; PaddleSlim's QuantedConv2DBatchNorm, PyTorch's ConvBn2d; docs/quantization.md).
// Formulas (the fold factor k_c = gamma_c / sqrt(running_var_c + eps) and both gradients):
// bn_fold_math.h, shared with the CUDA kernels and the passes that fold for export.
//
//   bn_fold_weight (w, gamma, running_var) -> w'    w'[c, ...] = w[c, ...] * k_c
//       w is a parameter (O, ...) in row-major layout, channel = axis 0.
//   bn_unscale (y, gamma, running_var) -> u           u[..., c] = y[..., c] / k_c
//       y is the conv output (N, C, H, W) channels-last (or (N, C)), channel = fastest axis.
//   attr epsilon (the BatchNorm's). running_var gets no gradient (overwritten contract, optional).
//
// The training graph is conv(x, Q(w')) -> bn_unscale -> batch_norm: the weight is quantized as it
// will be deployed (folded), and the BatchNorm still normalises with batch statistics until it is
// frozen; with running statistics bn_unscale and batch_norm reduce to the folded bias
// beta - k * mean, which convert() writes. Reference kernels only (float or double): they are
// per-channel scalings, a small cost next to the convolution.
#include <cmath>

#include "nn/ops/op_util.h"
#include "quant/ops/bn_fold/bn_fold_math.h"

namespace qf {
namespace {

template <class T>
std::vector<T> fold_k(const Tensor* gamma, const Tensor* var, double eps) {
  std::vector<T> k(gamma->numel());
  for (int64_t c = 0; c < gamma->numel(); ++c)
    k[c] = bn_fold_factor(gamma->data<T>()[c], var->data<T>()[c], static_cast<T>(eps));
  return k;
}

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  const bool weight = node.op == "bn_fold_weight";
  const Shape& x = in[0].shape;
  if (x.size() < 2) shape_error(node, "input must have rank >= 2");
  const int64_t C = weight ? x[0] : x[1];
  for (int i = 1; i < 3; ++i) {
    if (in[i].shape != Shape{C})
      shape_error(node, str_cat(i == 1 ? "gamma" : "running_var", " must have shape [", C, "]"));
    if (in[i].dtype != in[0].dtype) shape_error(node, "gamma and running_var must match the input");
  }
  if (!weight && x.size() != 4 && x.size() != 2)
    shape_error(node, "input must be (N, C, H, W) or (N, C)");
  return {in[0]};
}

class FoldRef final : public Kernel {
 public:
  explicit FoldRef(const KernelSetup& s)
      : weight_(s.node.op == "bn_fold_weight"), eps_(s.node.attrs.get_float("epsilon", 1e-5)) {}

  void forward(const ForwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const std::vector<T> k = fold_k<T>(c.in[1], c.in[2], eps_);
      const T* x = c.in[0]->data<T>();
      T* y = c.out[0]->data<T>();
      const int64_t n = c.in[0]->numel(), C = static_cast<int64_t>(k.size());
      const int64_t inner = n / C;
#pragma omp parallel for schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) y[i] = weight_ ? x[i] * k[i / inner] : x[i] / k[i % C];
    });
  }

  void backward(const BackwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const std::vector<T> k = fold_k<T>(c.in[1], c.in[2], eps_);
      const T* x = c.in[0]->data<T>();
      const T* dout = c.grad_out[0]->data<T>();
      const T* gamma = c.in[1]->data<T>();
      const T* var = c.in[2]->data<T>();
      T* dx = mut_ptr<T>(c.grad_in[0]);
      T* dg = mut_ptr<T>(c.grad_in[1]);
      const int64_t n = c.in[0]->numel(), C = static_cast<int64_t>(k.size());
      const int64_t inner = n / C;
      std::vector<T> acc(C, T(0));
      for (int64_t i = 0; i < n; ++i) {
        const int64_t ch = weight_ ? i / inner : i % C;
        if (dx) dx[i] = weight_ ? dout[i] * k[ch] : dout[i] / k[ch];
        acc[ch] += dout[i] * x[i];
      }
      if (!dg) return;
      for (int64_t ch = 0; ch < C; ++ch)
        dg[ch] = bn_fold_gamma_grad(acc[ch], gamma[ch], var[ch], static_cast<T>(eps_), weight_);
    });
  }

 private:
  bool weight_;
  double eps_;
};

void add(OpRegistry& reg, const char* type) {
  OpDef d;
  d.type = type;
  d.min_inputs = 3;
  d.max_inputs = 3;
  d.nondiff_inputs = {2};
  d.infer = infer;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<FoldRef>;
  reg.add(std::move(d));
}

}  // namespace

void register_bn_fold_ops(OpRegistry& reg) {
  add(reg, "bn_fold_weight");
  add(reg, "bn_unscale");
}

}  // namespace qf
