// slice (ONNX Slice with constant starts / ends / axes / steps, torch's x[:, a:b], chunk, split):
// every `steps[k]`-th element of axis `axes[k]` from `starts[k]` up to, not including, `ends[k]`.
//   input:  x of rank r >= 1; a 4-D x is an (N, C, H, W) activation stored channels-last
//   attrs:  starts, ends (ints, one per sliced axis); axes (default 0..k-1; negative counts from
//           the end; each at most once); steps (default 1; non-zero, negative walks backwards)
//   output: y of x's rank, stored by the layout rule of its rank
// Bounds follow ONNX: a negative start or end counts from the end of the axis (dim is added
// once); then, with dim the axis length, a start is clamped to [0, dim] for positive steps and to
// [0, dim - 1] for negative ones, an end to [0, dim] or [-1, dim - 1]. The axis keeps
// max(0, ceil((end - start) / step)) elements: start, start + step, ...
// Exporters write "to the end" as a huge end (torch: 2^63 - 1), which the clamping absorbs.
// The fast kernel is a strided gather (nn/kernels/cpu/strided_copy.h): ShuffleNet's channel split
// of a channels-last tensor copies one run of C/2 channels per pixel. The reference walks
// logical indices.
//
// Gradient contract: dx = 0 except at the sliced positions, which receive dy; overwrites dx.
#include <cstring>

#include "nn/kernels/cpu/strided_copy.h"
#include "nn/layout.h"
#include "nn/ops/op_util.h"

namespace qf {
namespace {

// Per logical axis of x: first index and step (axes not sliced: 0 and 1), and y's shape.
struct SliceGeom {
  std::vector<int64_t> start, step;
  Shape y;
};

SliceGeom geometry(const Node& node, const Shape& x) {
  const int64_t r = static_cast<int64_t>(x.size());
  if (r == 0) shape_error(node, "input must have rank >= 1, got a scalar");
  if (!node.attrs.has("starts") || !node.attrs.has("ends"))
    shape_error(node, "attributes starts and ends are required");
  const auto& starts = node.attrs.get_ints("starts");
  const auto& ends = node.attrs.get_ints("ends");
  const size_t k = starts.size();
  std::vector<int64_t> axes = node.attrs.get_ints("axes", {}), steps = node.attrs.get_ints("steps", {});
  if (axes.empty())
    for (size_t i = 0; i < k; ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(k, 1);
  if (ends.size() != k || axes.size() != k || steps.size() != k)
    shape_error(node, str_cat("starts ", shape_str(starts), ", ends ", shape_str(ends), ", axes ",
                              shape_str(axes), " and steps ", shape_str(steps),
                              " must have one value per sliced axis"));
  SliceGeom g{std::vector<int64_t>(r, 0), std::vector<int64_t>(r, 1), x};
  std::vector<bool> seen(r, false);
  for (size_t i = 0; i < k; ++i) {
    int64_t a = axes[i];
    if (a < -r || a >= r || seen[a < 0 ? a + r : a])
      shape_error(node, str_cat("axes ", shape_str(axes), " is not a set of axes of the ", r,
                                "-D input"));
    a = a < 0 ? a + r : a;
    seen[a] = true;
    const int64_t dim = x[a], st = steps[i];
    if (st == 0) shape_error(node, "a step of 0 is not allowed");
    int64_t b = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
    b = st > 0 ? std::clamp<int64_t>(b, 0, dim) : std::clamp<int64_t>(b, 0, dim - 1);
    e = st > 0 ? std::clamp<int64_t>(e, 0, dim) : std::clamp<int64_t>(e, -1, dim - 1);
    const int64_t len = st > 0 ? (e - b + st - 1) / st : (b - e - st - 1) / -st;
    g.start[a] = b;
    g.step[a] = st;
    g.y[a] = std::max<int64_t>(len, 0);
  }
  return g;
}

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  return {{geometry(node, in[0].shape).y, in[0].dtype}};
}

// y's memory walk and, per step, where in x it reads.
StridedMap slice_map(const Shape& x, const SliceGeom& g) {
  const std::vector<int64_t> xs = logical_strides(x);
  StridedMap m;
  for (size_t a = 0; a < x.size(); ++a) m.base += g.start[a] * xs[a];
  for (int64_t a : memory_axis_order(x.size())) {
    m.dims.push_back(g.y[a]);
    m.strides.push_back(xs[a] * g.step[a]);
  }
  return m;
}

class SliceFast final : public Kernel {
 public:
  explicit SliceFast(const KernelSetup& s)
      : map_(slice_map(s.in[0].shape, geometry(s.node, s.in[0].shape))),
        elem_(dtype_size(s.in[0].dtype)),
        empty_(numel(s.out[0].shape) == 0) {}
  void forward(const ForwardCall& c) override {
    if (!empty_) strided_gather(c.in[0]->raw(), c.out[0]->raw(), map_, elem_);
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    std::memset(c.grad_in[0]->raw(), 0, c.grad_in[0]->nbytes());
    if (!empty_) strided_scatter(c.grad_out[0]->raw(), c.grad_in[0]->raw(), map_, elem_);
  }

 private:
  StridedMap map_;
  size_t elem_;
  bool empty_;
};

class SliceRef final : public Kernel {
 public:
  explicit SliceRef(const KernelSetup& s) : x_(s.in[0].shape), g_(geometry(s.node, x_)) {}
  void forward(const ForwardCall& c) override { walk(*c.in[0], *c.out[0], true); }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    std::memset(c.grad_in[0]->raw(), 0, c.grad_in[0]->nbytes());
    walk(*c.grad_in[0], *c.grad_out[0], false);
  }

 private:
  // Element by element over y's logical indices: forward y <- x, backward x <- y.
  void walk(const Tensor& x, const Tensor& y, bool forward) const {
    const size_t e = dtype_size(x.dtype());
    std::vector<int64_t> yi(x_.size(), 0), xi(x_.size(), 0);
    for (int64_t k = 0, n = numel(g_.y); k < n; ++k) {
      int64_t rem = k;
      for (size_t d = x_.size(); d-- > 0;) {
        yi[d] = rem % g_.y[d];
        rem /= g_.y[d];
        xi[d] = g_.start[d] + yi[d] * g_.step[d];
      }
      char* xp = static_cast<char*>(x.raw()) + logical_offset(x_, xi) * e;
      char* yp = static_cast<char*>(y.raw()) + logical_offset(g_.y, yi) * e;
      if (forward)
        std::memcpy(yp, xp, e);
      else
        std::memcpy(xp, yp, e);
    }
  }
  Shape x_;
  SliceGeom g_;
};

}  // namespace

void register_slice(OpRegistry& reg) {
  OpDef d;
  d.type = "slice";
  d.infer = infer;
  d.backward_reads_inputs = 0;  // backward reads only the output gradient
  d.backward_reads_outputs = 0;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_kernel<SliceFast>;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<SliceRef>;
  reg.add(std::move(d));
}

}  // namespace qf
