// reshape (ONNX Reshape with a constant target shape, allowzero = 0): y has the elements of x in
// LOGICAL row-major order, laid out with shape `shape`.
//   input:  x of any rank; a 4-D x is an (N, C, H, W) activation stored channels-last
//   attrs:  shape (ints): 0 copies the input dimension at the same index, one -1 is inferred from
//           the element count, other values are taken as they are
//   output: y; a 4-D y is stored channels-last, other ranks row-major
// So (N, C, H, W) -> (N, C*H*W) equals flatten, (N, K) -> (N, K, 1, 1) costs a copy, and a reshape
// between two 4-D shapes goes through logical order: channels-last -> logical -> channels-last.
// The fast kernel moves bytes (any element type, int8 activations included) with the blocked
// per-sample transposes of nn/kernels/cpu/nhwc_transpose.h; the reference walks logical indices.
//
// Gradient contract: dx = dy reshaped back (the inverse permutation); overwrites dx.
#include <cstring>

#include "nn/kernels/cpu/nhwc_transpose.h"
#include "nn/layout.h"
#include "nn/ops/op_util.h"

namespace qf {
namespace {

Shape target_shape(const Node& node, const Shape& x) {
  if (!node.attrs.has("shape")) shape_error(node, "attribute shape is required");
  const auto& want = node.attrs.get_ints("shape");
  Shape y(want.size());
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < want.size(); ++i) {
    int64_t d = want[i];
    if (d == 0) {
      if (i >= x.size())
        shape_error(node, str_cat("shape ", shape_str(want), " copies dimension ", i,
                                  " (a 0), but the input ", shape_str(x), " has rank ", x.size()));
      d = x[i];
    }
    if (d == -1) {
      if (infer_at >= 0) shape_error(node, str_cat("shape ", shape_str(want), " has two -1"));
      infer_at = static_cast<int>(i);
      continue;
    }
    if (d < 0) shape_error(node, str_cat("shape ", shape_str(want), " has a negative dimension"));
    y[i] = d;
    const std::optional<int64_t> k = checked_mul(known, d);
    if (!k) shape_error(node, str_cat("shape ", shape_str(want), " has too many elements"));
    known = *k;
  }
  const int64_t n = numel(x);
  if (infer_at >= 0) {
    if (known == 0 || n % known)
      shape_error(node, str_cat("cannot reshape ", shape_str(x), " to ", shape_str(want)));
    y[infer_at] = n / known;
  } else if (known != n) {
    shape_error(node, str_cat("cannot reshape ", shape_str(x), " (", n, " elements) to ",
                              shape_str(want), " (", known, " elements)"));
  }
  return y;
}

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  return {{target_shape(node, in[0].shape), in[0].dtype}};
}

// A 4-D shape whose channels-last bytes differ from its logical bytes.
bool permuted(const Shape& s) {
  return s.size() == 4 && s[1] > 1 && s[2] * s[3] > 1;
}

// Memory offset of the element with logical row-major index `i` in a tensor of shape `s`.
int64_t memory_offset(const Shape& s, int64_t i) {
  if (s.size() != 4) return i;
  const int64_t w = i % s[3], h = (i / s[3]) % s[2], c = (i / (s[3] * s[2])) % s[1],
                n = i / (s[3] * s[2] * s[1]);
  return nhwc_offset(n, c, h, w, s[1], s[2], s[3]);
}

class ReshapeRef final : public Kernel {
 public:
  explicit ReshapeRef(const KernelSetup& s) : x_(s.in[0].shape), y_(s.out[0].shape) {}
  void forward(const ForwardCall& c) override { run(*c.in[0], x_, *c.out[0], y_); }
  void backward(const BackwardCall& c) override {
    if (c.grad_in[0]) run(*c.grad_out[0], y_, *c.grad_in[0], x_);
  }

 private:
  static void run(const Tensor& src, const Shape& ss, const Tensor& dst, const Shape& ds) {
    const size_t e = dtype_size(src.dtype());
    const char* a = static_cast<const char*>(src.raw());
    char* b = static_cast<char*>(dst.raw());
    for (int64_t i = 0, n = src.numel(); i < n; ++i)
      std::memcpy(b + memory_offset(ds, i) * e, a + memory_offset(ss, i) * e, e);
  }
  Shape x_, y_;
};

// channels-last -> logical (into the output or the workspace), logical -> channels-last.
class ReshapeFast final : public Kernel {
 public:
  explicit ReshapeFast(const KernelSetup& s)
      : x_(s.in[0].shape), y_(s.out[0].shape), elem_(dtype_size(s.in[0].dtype)) {}
  size_t workspace_bytes() const override {
    return permuted(x_) && permuted(y_) ? static_cast<size_t>(numel(x_)) * elem_ : 0;
  }
  void forward(const ForwardCall& c) override {
    run(c.in[0]->raw(), x_, c.out[0]->raw(), y_, c.workspace);
  }
  void backward(const BackwardCall& c) override {
    if (c.grad_in[0]) run(c.grad_out[0]->raw(), y_, c.grad_in[0]->raw(), x_, c.workspace);
  }

 private:
  void run(const void* src, const Shape& ss, void* dst, const Shape& ds, void* ws) const {
    const bool from = permuted(ss), to = permuted(ds);
    if (!from && !to) {
      if (dst != src) std::memcpy(dst, src, static_cast<size_t>(numel(ss)) * elem_);
      return;
    }
    void* logical = from && to ? ws : (from ? dst : const_cast<void*>(src));
    if (from)  // each sample (H*W, C) -> (C, H*W)
      batched_transpose_bytes(src, logical, elem_, ss[0], ss[2] * ss[3], ss[1]);
    if (to)  // each sample (C, H*W) -> (H*W, C)
      batched_transpose_bytes(logical, dst, elem_, ds[0], ds[1], ds[2] * ds[3]);
  }
  Shape x_, y_;
  size_t elem_;
};

}  // namespace

void register_reshape(OpRegistry& reg) {
  OpDef d;
  d.type = "reshape";
  d.infer = infer;
  d.backward_reads_inputs = 0;  // backward reads only the output gradient
  d.backward_reads_outputs = 0;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_kernel<ReshapeFast>;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<ReshapeRef>;
  reg.add(std::move(d));
}

}  // namespace qf
