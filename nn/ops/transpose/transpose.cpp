// transpose (ONNX Transpose, torch.permute): the logical axes of x in another order.
//   input:  x of rank r >= 1; a 4-D x is an (N, C, H, W) activation stored channels-last
//   attrs:  perm (ints, default r-1, ..., 0): a permutation of 0..r-1
//   output: y with y.shape[d] = x.shape[perm[d]] and y[i_0, .., i_{r-1}] = x[j] where
//           j[perm[d]] = i_d; a 4-D y is stored channels-last, other ranks row-major
// Every index refers to LOGICAL positions: what the layout stores in memory never shows. The fast
// kernel walks y in memory order and reads x through the strides of the permuted axes
// (nn/kernels/cpu/strided_copy.h), moving whole runs where the innermost axis stays in place
// (ShuffleNet's channel shuffle (0, 2, 1, 3, 4) moves H*W runs); the reference walks logical
// indices one element at a time.
//
// Gradient contract: dx = dy transposed by the inverse permutation; overwrites dx.
#include <cstring>

#include "nn/kernels/cpu/strided_copy.h"
#include "nn/layout.h"
#include "nn/ops/op_util.h"

namespace qf {
namespace {

std::vector<int64_t> perm_of(const Node& node, size_t rank) {
  std::vector<int64_t> p;
  if (node.attrs.has("perm")) {
    p = node.attrs.get_ints("perm");
  } else {
    for (size_t i = rank; i-- > 0;) p.push_back(static_cast<int64_t>(i));
  }
  std::vector<bool> seen(rank, false);
  bool ok = p.size() == rank;
  for (int64_t a : p) {
    ok = ok && a >= 0 && a < static_cast<int64_t>(rank) && !seen[a];
    if (ok) seen[a] = true;
  }
  if (!ok)
    shape_error(node, str_cat("perm ", shape_str(p), " is not a permutation of the ", rank,
                              " axes of the input"));
  return p;
}

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  const Shape& x = in[0].shape;
  if (x.empty()) shape_error(node, "input must have rank >= 1, got a scalar");
  const std::vector<int64_t> p = perm_of(node, x.size());
  Shape y(x.size());
  for (size_t d = 0; d < x.size(); ++d) y[d] = x[p[d]];
  return {{y, in[0].dtype}};
}

// y's memory walk and, per step, where in x it reads.
StridedMap transpose_map(const Shape& x, const Shape& y, const std::vector<int64_t>& perm) {
  const std::vector<int64_t> xs = logical_strides(x);
  StridedMap m;
  for (int64_t a : memory_axis_order(y.size())) {
    m.dims.push_back(y[a]);
    m.strides.push_back(xs[perm[a]]);
  }
  return m;
}

class TransposeFast final : public Kernel {
 public:
  explicit TransposeFast(const KernelSetup& s)
      : map_(transpose_map(s.in[0].shape, s.out[0].shape, perm_of(s.node, s.in[0].shape.size()))),
        elem_(dtype_size(s.in[0].dtype)) {}
  void forward(const ForwardCall& c) override {
    strided_gather(c.in[0]->raw(), c.out[0]->raw(), map_, elem_);
  }
  void backward(const BackwardCall& c) override {
    if (c.grad_in[0]) strided_scatter(c.grad_out[0]->raw(), c.grad_in[0]->raw(), map_, elem_);
  }

 private:
  StridedMap map_;
  size_t elem_;
};

class TransposeRef final : public Kernel {
 public:
  explicit TransposeRef(const KernelSetup& s)
      : x_(s.in[0].shape), y_(s.out[0].shape), perm_(perm_of(s.node, x_.size())) {}
  void forward(const ForwardCall& c) override { walk(*c.in[0], *c.out[0], true); }
  void backward(const BackwardCall& c) override {
    if (c.grad_in[0]) walk(*c.grad_in[0], *c.grad_out[0], false);
  }

 private:
  // Element by element over y's logical indices: forward y <- x, backward x <- y.
  void walk(const Tensor& x, const Tensor& y, bool forward) const {
    const size_t e = dtype_size(x.dtype());
    std::vector<int64_t> yi(y_.size(), 0), xi(x_.size(), 0);
    for (int64_t k = 0, n = numel(y_); k < n; ++k) {
      int64_t rem = k;
      for (size_t d = y_.size(); d-- > 0;) {
        yi[d] = rem % y_[d];
        rem /= y_[d];
      }
      for (size_t d = 0; d < y_.size(); ++d) xi[perm_[d]] = yi[d];
      char* xp = static_cast<char*>(x.raw()) + logical_offset(x_, xi) * e;
      char* yp = static_cast<char*>(y.raw()) + logical_offset(y_, yi) * e;
      if (forward)
        std::memcpy(yp, xp, e);
      else
        std::memcpy(xp, yp, e);
    }
  }
  Shape x_, y_;
  std::vector<int64_t> perm_;
};

}  // namespace

void register_transpose(OpRegistry& reg) {
  OpDef d;
  d.type = "transpose";
  d.infer = infer;
  d.backward_reads_inputs = 0;  // backward reads only the output gradient
  d.backward_reads_outputs = 0;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_kernel<TransposeFast>;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<TransposeRef>;
  reg.add(std::move(d));
}

}  // namespace qf
