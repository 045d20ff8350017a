// concat (ONNX Concat, torch.cat): y = the inputs joined along logical axis `axis`.
//   inputs: x_1 .. x_k (k >= 1) of one rank and dtype, equal in every dimension but `axis`;
//           4-D inputs are (N, C, H, W) activations stored channels-last
//   attrs:  axis (required; negative counts from the end)
//   output: y, dim(axis) = sum of the inputs' dim(axis), same layout rule
// In memory a 4-D tensor is ordered (N, H, W, C), so logical axis 1 (channels, the usual case) is
// the innermost memory axis: each input contributes a run of C_i values per pixel. Generally, with
// m the memory axis of `axis`, y is `outer` blocks (product of the memory dimensions before m),
// each holding one run of dim_i * inner elements from every input in order (inner = product of the
// memory dimensions after m). The fast kernel copies those runs; the reference walks logical
// indices.
//
// Gradient contract: dx_i = the slice of dy that x_i produced; overwrites each dx_i.
#include <cstring>

#include "nn/layout.h"
#include "nn/ops/op_util.h"

namespace qf {
namespace {

int64_t axis_of(const Node& node, std::span<const TensorDesc> in) {
  if (!node.attrs.has("axis")) shape_error(node, "attribute axis is required");
  const int64_t r = static_cast<int64_t>(in[0].shape.size());
  const int64_t a = node.attrs.get_int("axis");
  if (r == 0 || a < -r || a >= r)
    shape_error(node, str_cat("axis ", a, " is out of range for inputs of rank ", r));
  return a < 0 ? a + r : a;
}

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  const int64_t axis = axis_of(node, in);
  Shape y = in[0].shape;
  y[axis] = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    const Shape& s = in[i].shape;
    if (in[i].dtype != in[0].dtype)
      shape_error(node, str_cat("input ", i, " is ", dtype_name(in[i].dtype), ", input 0 is ",
                                dtype_name(in[0].dtype)));
    bool ok = s.size() == y.size();
    for (size_t d = 0; ok && d < s.size(); ++d)
      ok = static_cast<int64_t>(d) == axis || s[d] == y[d];
    if (!ok)
      shape_error(node, str_cat("input ", i, " ", shape_str(s), " does not match input 0 ",
                                shape_str(in[0].shape), " outside axis ", axis));
    y[axis] += s[axis];
  }
  return {{y, in[0].dtype}};
}

// Memory shape and memory axis of a logical (shape, axis).
void memory_view(const Shape& s, int64_t axis, Shape& mem, int64_t& m) {
  if (s.size() == 4) {
    mem = {s[0], s[2], s[3], s[1]};
    static const int64_t to_mem[4] = {0, 3, 1, 2};
    m = to_mem[axis];
  } else {
    mem = s;
    m = axis;
  }
}

struct ConcatPlan {
  int64_t outer = 1, inner = 1;
  std::vector<int64_t> run;  // per input: dim_i * inner elements
  size_t elem = 4;
  explicit ConcatPlan(const KernelSetup& s) : elem(dtype_size(s.in[0].dtype)) {
    const int64_t axis = axis_of(s.node, s.in);
    Shape mem;
    int64_t m;
    memory_view(s.in[0].shape, axis, mem, m);
    for (int64_t d = 0; d < m; ++d) outer *= mem[d];
    for (size_t d = m + 1; d < mem.size(); ++d) inner *= mem[d];
    for (const TensorDesc& d : s.in) run.push_back(d.shape[axis] * inner);
  }
  int64_t total() const {
    int64_t t = 0;
    for (int64_t r : run) t += r;
    return t;
  }
};

class ConcatFast final : public Kernel {
 public:
  explicit ConcatFast(const KernelSetup& s) : p_(s) {}
  void forward(const ForwardCall& c) override {
    char* y = static_cast<char*>(c.out[0]->raw());
    const int64_t total = p_.total();
#pragma omp parallel for schedule(static) if (p_.outer * total > 65536)
    for (int64_t o = 0; o < p_.outer; ++o) {
      int64_t at = o * total;
      for (size_t i = 0; i < p_.run.size(); ++i) {
        std::memcpy(y + at * p_.elem,
                    static_cast<const char*>(c.in[i]->raw()) + o * p_.run[i] * p_.elem,
                    p_.run[i] * p_.elem);
        at += p_.run[i];
      }
    }
  }
  void backward(const BackwardCall& c) override {
    const char* dy = static_cast<const char*>(c.grad_out[0]->raw());
    const int64_t total = p_.total();
#pragma omp parallel for schedule(static) if (p_.outer * total > 65536)
    for (int64_t o = 0; o < p_.outer; ++o) {
      int64_t at = o * total;
      for (size_t i = 0; i < p_.run.size(); ++i) {
        if (c.grad_in[i])
          std::memcpy(static_cast<char*>(c.grad_in[i]->raw()) + o * p_.run[i] * p_.elem,
                      dy + at * p_.elem, p_.run[i] * p_.elem);
        at += p_.run[i];
      }
    }
  }

 private:
  ConcatPlan p_;
};

// Element by element in logical order, offsets through the layout rule.
class ConcatRef final : public Kernel {
 public:
  explicit ConcatRef(const KernelSetup& s) : axis_(axis_of(s.node, s.in)), y_(s.out[0].shape) {
    for (const TensorDesc& d : s.in) x_.push_back(d.shape);
  }
  void forward(const ForwardCall& c) override { walk(c.in, c.out[0], true); }
  void backward(const BackwardCall& c) override { walk(c.grad_in, c.grad_out[0], false); }

 private:
  static int64_t offset(const Shape& s, const std::vector<int64_t>& idx) {
    if (s.size() == 4) return nhwc_offset(idx[0], idx[1], idx[2], idx[3], s[1], s[2], s[3]);
    int64_t o = 0;
    for (size_t d = 0; d < s.size(); ++d) o = o * s[d] + idx[d];
    return o;
  }
  void walk(std::span<const Tensor* const> xs, const Tensor* y, bool forward) const {
    const size_t e = dtype_size(y->dtype());
    std::vector<int64_t> idx(y_.size(), 0);
    for (int64_t k = 0, n = numel(y_); k < n; ++k) {
      int64_t rem = k;
      for (size_t d = y_.size(); d-- > 0;) {
        idx[d] = rem % y_[d];
        rem /= y_[d];
      }
      const int64_t yo = offset(y_, idx);
      size_t i = 0;
      while (idx[axis_] >= x_[i][axis_]) idx[axis_] -= x_[i++][axis_];
      if (!xs[i]) continue;
      char* xp = static_cast<char*>(xs[i]->raw()) + offset(x_[i], idx) * e;
      char* yp = static_cast<char*>(y->raw()) + yo * e;
      if (forward)
        std::memcpy(yp, xp, e);
      else
        std::memcpy(xp, yp, e);
    }
  }
  int64_t axis_;
  Shape y_;
  std::vector<Shape> x_;
};

}  // namespace

void register_concat(OpRegistry& reg) {
  OpDef d;
  d.type = "concat";
  d.min_inputs = 1;
  d.max_inputs = 1024;
  d.infer = infer;
  d.backward_reads_inputs = 0;  // backward reads only the output gradient
  d.backward_reads_outputs = 0;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_kernel<ConcatFast>;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<ConcatRef>;
  reg.add(std::move(d));
}

}  // namespace qf
