// flatten (ONNX Flatten): y = x reshaped to (prod(dims[:axis]), prod(dims[axis:])), elements in
// LOGICAL row-major order.
//   input:  x of rank r >= 1; a 4-D x is an (N, C, H, W) activation stored channels-last
//   attrs:  axis (1), -r <= axis <= r
//   output: y (A, B), row-major
// For a 4-D x the logical order is (n, c, h, w) whatever the axis, so that a torchvision Linear
// after flatten sees its features in PyTorch's order: the kernel transposes each sample from
// (H*W, C) to (C, H*W). When H*W == 1 or C == 1 both layouts hold the same bytes and the op is a
// copy; inputs of other ranks are row-major already and are copied.
//
// Gradient contract: dx = dy with the inverse permutation; overwrites dx.
#include <cstring>

#include "nn/kernels/cpu/nhwc_transpose.h"
#include "nn/ops/op_util.h"

namespace qf {
namespace {

int64_t axis_of(const Node& node, const TensorDesc& x) {
  const int64_t r = static_cast<int64_t>(x.shape.size());
  if (r < 1) shape_error(node, "input must have rank >= 1, got a scalar");
  const int64_t axis = node.attrs.get_int("axis", 1);
  if (axis < -r || axis > r)
    shape_error(node, str_cat("axis ", axis, " is out of range for input ", shape_str(x.shape),
                              " (allowed: ", -r, "..", r, ")"));
  return axis < 0 ? axis + r : axis;
}

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  const int64_t axis = axis_of(node, in[0]);
  const Shape& s = in[0].shape;
  int64_t a = 1, b = 1;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i) (i < axis ? a : b) *= s[i];
  return {{{a, b}, in[0].dtype}};
}

// (N, HW, C) <-> (N, C, HW) per sample, or a plain copy.
struct FlattenPlan {
  int64_t N = 0, C = 0, HW = 0;
  bool transpose = false;
  explicit FlattenPlan(const KernelSetup& s) {
    const Shape& x = s.in[0].shape;
    if (x.size() == 4) {
      N = x[0];
      C = x[1];
      HW = x[2] * x[3];
      transpose = C > 1 && HW > 1;
    }
  }
};

void copy_bytes(const Tensor& dst, const Tensor& src) {
  if (dst.raw() != src.raw()) std::memcpy(dst.raw(), src.raw(), src.nbytes());
}

class FlattenRef final : public Kernel {
 public:
  explicit FlattenRef(const KernelSetup& s) : p_(s) {}
  void forward(const ForwardCall& c) override { run(*c.in[0], *c.out[0], true); }
  void backward(const BackwardCall& c) override {
    if (c.grad_in[0]) run(*c.grad_out[0], *c.grad_in[0], false);
  }

 private:
  // forward: channels-last src -> logical dst; backward: logical src -> channels-last dst.
  void run(const Tensor& src, const Tensor& dst, bool to_logical) const {
    if (!p_.transpose) return copy_bytes(dst, src);
    dispatch_real(src.dtype(), [&](auto t) {
      using T = decltype(t);
      const T* a = src.data<T>();
      T* b = dst.data<T>();
      for (int64_t n = 0; n < p_.N; ++n)
        for (int64_t c = 0; c < p_.C; ++c)
          for (int64_t i = 0; i < p_.HW; ++i) {
            const int64_t cl = (n * p_.HW + i) * p_.C + c, lg = (n * p_.C + c) * p_.HW + i;
            if (to_logical)
              b[lg] = a[cl];
            else
              b[cl] = a[lg];
          }
    });
  }
  FlattenPlan p_;
};

// Cache-blocked transpose of each sample (nn/kernels/cpu/nhwc_transpose.h).
class FlattenFast final : public Kernel {
 public:
  explicit FlattenFast(const KernelSetup& s) : p_(s) {}
  void forward(const ForwardCall& c) override {
    if (!p_.transpose) return copy_bytes(*c.out[0], *c.in[0]);
    batched_transpose(c.in[0]->data<float>(), c.out[0]->data<float>(), p_.N, p_.HW, p_.C);
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    if (!p_.transpose) return copy_bytes(*c.grad_in[0], *c.grad_out[0]);
    batched_transpose(c.grad_out[0]->data<float>(), c.grad_in[0]->data<float>(), p_.N, p_.C, p_.HW);
  }

 private:
  FlattenPlan p_;
};

}  // namespace

void register_flatten(OpRegistry& reg) {
  OpDef d;
  d.type = "flatten";
  d.infer = infer;
  d.backward_reads_inputs = 0;  // backward reads only the output gradient
  d.backward_reads_outputs = 0;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_kernel<FlattenFast>;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<FlattenRef>;
  reg.add(std::move(d));
}

}  // namespace qf
