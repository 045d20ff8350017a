// add / mul: op definitions, broadcasting rules and the plain reference kernel (math and layout in
// nn/ops/elementwise/elementwise.h). The reference walks the output in logical order and maps every
// element to its operands through the layout-aware strides; the fast kernel
// (nn/ops/elementwise/elementwise_cpu.cpp) walks memory order instead, so each checks the other.
#include "nn/ops/elementwise/elementwise.h"

#include <cstring>

#include "nn/ops/op_util.h"

namespace qf {

Shape broadcast_shape(const Node& node, const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  if (r > static_cast<size_t>(kMaxBroadcastRank))
    shape_error(node, str_cat("operands of rank above ", kMaxBroadcastRank,
                              " are not supported, got ", shape_str(a), " and ", shape_str(b)));
  Shape y(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      shape_error(node, str_cat("shapes ", shape_str(a), " and ", shape_str(b),
                                " do not broadcast (dimension ", i, " of the aligned shapes: ", da,
                                " vs ", db, ")"));
    y[i] = da == 1 ? db : da;
  }
  return y;
}

std::vector<int64_t> broadcast_strides(const Shape& s, const Shape& y) {
  const size_t r = y.size(), off = r - s.size();
  std::vector<int64_t> own(s.size());
  if (s.size() == 4) {  // (N, C, H, W) channels-last
    own = {s[1] * s[2] * s[3], 1, s[3] * s[1], s[1]};
  } else {
    int64_t st = 1;
    for (size_t i = s.size(); i-- > 0;) {
      own[i] = st;
      st *= s[i];
    }
  }
  std::vector<int64_t> out(r, 0);
  for (size_t i = 0; i < s.size(); ++i) out[off + i] = s[i] == 1 ? 0 : own[i];
  return out;
}

namespace {

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  if (in[0].dtype != in[1].dtype)
    shape_error(node, str_cat("operands must have the same dtype, got ", dtype_name(in[0].dtype),
                              " and ", dtype_name(in[1].dtype)));
  return {{broadcast_shape(node, in[0].shape, in[1].shape), in[0].dtype}};
}

template <bool Mul>
class ElementwiseRef final : public Kernel {
 public:
  explicit ElementwiseRef(const KernelSetup& s)
      : y_(broadcast_shape(s.node, s.in[0].shape, s.in[1].shape)),
        sy_(broadcast_strides(y_, y_)),
        sa_(broadcast_strides(s.in[0].shape, y_)),
        sb_(broadcast_strides(s.in[1].shape, y_)) {}

  void forward(const ForwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* a = c.in[0]->data<T>();
      const T* b = c.in[1]->data<T>();
      T* y = c.out[0]->data<T>();
      each(
          [&](int64_t oy, int64_t oa, int64_t ob) { y[oy] = Mul ? a[oa] * b[ob] : a[oa] + b[ob]; });
    });
  }

  void backward(const BackwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* a = c.in[0]->data<T>();
      const T* b = c.in[1]->data<T>();
      const T* dy = c.grad_out[0]->data<T>();
      T* da = c.grad_in[0] ? c.grad_in[0]->data<T>() : nullptr;
      T* db = c.grad_in[1] ? c.grad_in[1]->data<T>() : nullptr;
      if (da) std::memset(da, 0, c.grad_in[0]->nbytes());
      if (db) std::memset(db, 0, c.grad_in[1]->nbytes());
      each([&](int64_t oy, int64_t oa, int64_t ob) {
        if (da) da[oa] += Mul ? dy[oy] * b[ob] : dy[oy];
        if (db) db[ob] += Mul ? dy[oy] * a[oa] : dy[oy];
      });
    });
  }

 private:
  // Calls f(offset in y, offset in a, offset in b) for every output element, in logical order.
  template <class F>
  void each(F&& f) const {
    const size_t r = y_.size();
    std::array<int64_t, kMaxBroadcastRank> idx{};
    for (int64_t i = 0, n = numel(y_); i < n; ++i) {
      int64_t oy = 0, oa = 0, ob = 0;
      for (size_t d = 0; d < r; ++d) {
        oy += idx[d] * sy_[d];
        oa += idx[d] * sa_[d];
        ob += idx[d] * sb_[d];
      }
      f(oy, oa, ob);
      for (size_t d = r; d-- > 0;) {
        if (++idx[d] < y_[d]) break;
        idx[d] = 0;
      }
    }
  }

  Shape y_;
  std::vector<int64_t> sy_, sa_, sb_;
};

void add_op(OpRegistry& reg, const char* type, bool mul, KernelFactory fast, KernelFactory ref) {
  OpDef d;
  d.type = type;
  d.min_inputs = 2;
  d.max_inputs = 2;
  d.infer = infer;
  d.backward_reads_inputs = mul ? ~0u : 0u;  // d(a*b)/da = b; d(a+b)/da = 1
  d.backward_reads_outputs = 0;
  d.kernels[static_cast<int>(KernelKind::cpu)] = fast;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = ref;
  reg.add(std::move(d));
}

}  // namespace

void register_elementwise(OpRegistry& reg) {
  add_op(reg, "add", false, make_add_fast, make_kernel<ElementwiseRef<false>>);
  add_op(reg, "mul", true, make_mul_fast, make_kernel<ElementwiseRef<true>>);
}

}  // namespace qf
