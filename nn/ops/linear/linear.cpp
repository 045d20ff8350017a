// linear: op definition and the plain reference kernel (math in nn/ops/linear/linear.h).
#include "nn/ops/linear/linear.h"

#include <cstring>

#include "nn/ops/op_util.h"

namespace qf {

LinearGeom linear_geom(const Node& node, std::span<const TensorDesc> in) {
  expect_rank(node, in[0], 2, "input");
  expect_rank(node, in[1], 2, "weight");
  LinearGeom g{in[0].shape[0], in[0].shape[1], in[1].shape[0], false};
  if (in[1].shape[1] != g.in)
    shape_error(node, str_cat("weight ", shape_str(in[1].shape), " expects ", in[1].shape[1],
                              " input features, input ", shape_str(in[0].shape), " has ", g.in));
  g.bias = node.inputs.size() > 2 && node.inputs[2] >= 0;
  if (g.bias && in[2].shape != Shape{g.out})
    shape_error(node, str_cat("bias must have shape [", g.out, "], got ", shape_str(in[2].shape)));
  return g;
}

namespace {

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  const LinearGeom g = linear_geom(node, in);
  return {{{g.N, g.out}, in[0].dtype}};
}

int64_t macs(const Node& node, std::span<const TensorDesc> in, std::span<const TensorDesc>) {
  const LinearGeom g = linear_geom(node, in);
  return g.N * g.in * g.out;
}

class LinearRef final : public Kernel {
 public:
  explicit LinearRef(const KernelSetup& s) : g_(linear_geom(s.node, s.in)) {}
  void forward(const ForwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = ptr<T>(c.in[0]);
      const T* w = ptr<T>(c.in[1]);
      const T* b = g_.bias ? ptr<T>(c.in[2]) : nullptr;
      T* y = mut_ptr<T>(c.out[0]);
      for (int64_t n = 0; n < g_.N; ++n)
        for (int64_t o = 0; o < g_.out; ++o) {
          T acc = b ? b[o] : T(0);
          for (int64_t i = 0; i < g_.in; ++i) acc += x[n * g_.in + i] * w[o * g_.in + i];
          y[n * g_.out + o] = acc;
        }
    });
  }
  void backward(const BackwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = ptr<T>(c.in[0]);
      const T* w = ptr<T>(c.in[1]);
      const T* dy = ptr<T>(c.grad_out[0]);
      T* dx = mut_ptr<T>(c.grad_in[0]);
      T* dw = mut_ptr<T>(c.grad_in[1]);
      T* db = g_.bias && c.grad_in.size() > 2 ? mut_ptr<T>(c.grad_in[2]) : nullptr;
      if (dx) std::memset(dx, 0, sizeof(T) * g_.N * g_.in);
      if (dw) std::memset(dw, 0, sizeof(T) * g_.out * g_.in);
      if (db) std::memset(db, 0, sizeof(T) * g_.out);
      for (int64_t n = 0; n < g_.N; ++n)
        for (int64_t o = 0; o < g_.out; ++o) {
          const T d = dy[n * g_.out + o];
          if (db) db[o] += d;
          for (int64_t i = 0; i < g_.in; ++i) {
            if (dx) dx[n * g_.in + i] += d * w[o * g_.in + i];
            if (dw) dw[o * g_.in + i] += d * x[n * g_.in + i];
          }
        }
    });
  }

 private:
  LinearGeom g_;
};

}  // namespace

void register_linear(OpRegistry& reg) {
  OpDef d;
  d.type = "linear";
  d.min_inputs = 2;
  d.max_inputs = 3;
  d.infer = infer;
  d.backward_reads_outputs = 0;  // backward reads x and w
  d.macs = macs;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_linear_dnnl;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<LinearRef>;
  reg.add(std::move(d));
}

}  // namespace qf
