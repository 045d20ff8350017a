// max_pool2d / avg_pool2d: op definitions and reference kernels (math in nn/ops/pool2d/pool2d.h).
#include "nn/ops/pool2d/pool2d.h"

#include "nn/ops/op_util.h"

namespace qf {

namespace {

bool flag(const Node& node, const char* key) {
  const int64_t v = node.attrs.get_int(key, 0);
  if (v != 0 && v != 1) shape_error(node, str_cat(key, " must be 0 or 1, got ", v));
  return v == 1;
}

int64_t out_size(const Node& node, int64_t in, int64_t k, int64_t s, int64_t p0, int64_t p1,
                 bool ceil_mode, const Shape& x) {
  const int64_t span = in + p0 + p1 - k;
  if (span < 0)
    shape_error(node, str_cat("input ", shape_str(x), " with its padding is smaller than the ", k,
                              "-wide kernel"));
  int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (o - 1) * s >= in + p0) --o;  // the last window would start in the padding
  return o;
}

}  // namespace

PoolGeom pool_geom(const Node& node, const TensorDesc& x, bool avg) {
  expect_rank(node, x, 4, "input");
  if (!node.attrs.has("kernel_shape")) shape_error(node, "attribute kernel_shape is required");
  const auto k = node.attrs.get_ints("kernel_shape");
  if (k.size() != 2) shape_error(node, "kernel_shape needs 2 values [kh, kw]");
  const auto st = node.attrs.get_ints("strides", k);
  const auto pd = node.attrs.get_ints("pads", {0, 0, 0, 0});
  if (st.size() != 2 || pd.size() != 4) shape_error(node, "strides need 2 values, pads 4");
  if (k[0] < 1 || k[1] < 1 || st[0] < 1 || st[1] < 1)
    shape_error(node, "kernel_shape and strides must be >= 1");
  for (int i = 0; i < 4; ++i)
    if (pd[i] < 0 || pd[i] >= k[i % 2])
      shape_error(node,
                  str_cat("pads ", shape_str(pd), " must be >= 0 and smaller than the kernel ",
                          shape_str(k), " (a window must not lie entirely in the padding)"));
  const bool ceil_mode = flag(node, "ceil_mode");
  PoolGeom g{};
  g.N = x.shape[0];
  g.C = x.shape[1];
  g.H = x.shape[2];
  g.W = x.shape[3];
  g.KH = k[0];
  g.KW = k[1];
  g.sh = st[0];
  g.sw = st[1];
  g.pt = pd[0];
  g.pl = pd[1];
  g.pb = pd[2];
  g.pr = pd[3];
  g.OH = out_size(node, g.H, g.KH, g.sh, g.pt, g.pb, ceil_mode, x.shape);
  g.OW = out_size(node, g.W, g.KW, g.sw, g.pl, g.pr, ceil_mode, x.shape);
  g.count_include_pad = avg && flag(node, "count_include_pad");
  return g;
}

namespace {

template <bool Avg>
std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  const PoolGeom g = pool_geom(node, in[0], Avg);
  return {{{g.N, g.C, g.OH, g.OW}, in[0].dtype}};
}

template <bool Avg>
int64_t macs(const Node& node, std::span<const TensorDesc> in, std::span<const TensorDesc>) {
  const PoolGeom g = pool_geom(node, in[0], Avg);
  return g.N * g.C * g.OH * g.OW * g.KH * g.KW;
}

class MaxPool2dRef final : public Kernel {
 public:
  explicit MaxPool2dRef(const KernelSetup& s) : g_(pool_geom(s.node, s.in[0], false)) {}
  void forward(const ForwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      max_pool2d_forward_ref<T>(g_, ptr<T>(c.in[0]), mut_ptr<T>(c.out[0]));
    });
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      max_pool2d_backward_ref<T>(g_, ptr<T>(c.in[0]), ptr<T>(c.grad_out[0]),
                                 mut_ptr<T>(c.grad_in[0]));
    });
  }

 private:
  PoolGeom g_;
};

class AvgPool2dRef final : public Kernel {
 public:
  explicit AvgPool2dRef(const KernelSetup& s) : g_(pool_geom(s.node, s.in[0], true)) {}
  void forward(const ForwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      avg_pool2d_forward_ref<T>(g_, ptr<T>(c.in[0]), mut_ptr<T>(c.out[0]));
    });
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      avg_pool2d_backward_ref<T>(g_, ptr<T>(c.grad_out[0]), mut_ptr<T>(c.grad_in[0]));
    });
  }

 private:
  PoolGeom g_;
};

template <bool Avg>
void add_pool(OpRegistry& reg, const char* type, KernelFactory fast, KernelFactory ref) {
  OpDef d;
  d.type = type;
  d.infer = infer<Avg>;
  // Average pooling's backward spreads the output gradient; max pooling's finds each window's
  // maximum again in x (reference kernel) or keeps its position (oneDNN, CUDA).
  d.backward_reads_inputs = Avg ? 0u : 1u;
  d.backward_reads_outputs = 0;
  d.macs = macs<Avg>;
  d.kernels[static_cast<int>(KernelKind::cpu)] = fast;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = ref;
  reg.add(std::move(d));
}

}  // namespace

void register_pool2d(OpRegistry& reg) {
  add_pool<false>(reg, "max_pool2d", make_max_pool2d_fast, make_kernel<MaxPool2dRef>);
  add_pool<true>(reg, "avg_pool2d", make_avg_pool2d_fast, make_kernel<AvgPool2dRef>);
}

}  // namespace qf
