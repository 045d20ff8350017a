// Fake-quant op definitions and kernels (math and contracts in quant/ops/fake_quant/fake_quant.h).
//
// Each kernel class is written once over a "passes" policy: RefPasses (plain loops, float or
// double, the oracle) and FastPasses (quant/ops/fake_quant/fake_quant_cpu.cpp, float only). The
// state logic (EMA, window, cross-rank sync) is shared, so the two kernels differ only in how they
// sweep tensors.
#include "quant/ops/fake_quant/fake_quant.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "nn/communicator.h"
#include "nn/ops/op_util.h"

namespace qf {

ChannelGeom channel_geom(const Node& node, const Shape& x) {
  const int64_t axis = node.attrs.get_int("quant_axis", 0);
  if (axis != 0 && axis != 1) shape_error(node, str_cat("quant_axis must be 0 or 1, got ", axis));
  if (static_cast<int64_t>(x.size()) <= axis)
    shape_error(node,
                str_cat("quant_axis ", axis, " needs rank > ", axis, ", input is ", shape_str(x)));
  ChannelGeom g;
  g.channels = x[axis];
  for (int64_t i = 0; i < axis; ++i) g.outer *= x[i];
  for (size_t i = axis + 1; i < x.size(); ++i) g.inner *= x[i];
  return g;
}

FakeQuantAttrs fake_quant_attrs(const Node& node) {
  FakeQuantAttrs a;
  a.bits = node.attrs.get_int("bits", 8);
  if (a.bits < 2 || a.bits > 16) shape_error(node, str_cat("bits must be in 2..16, got ", a.bits));
  a.bnt = quant_bin_count(a.bits);
  a.moving_rate = node.attrs.get_float("moving_rate", 0.9);
  if (!(a.moving_rate > 0 && a.moving_rate < 1))
    shape_error(node, str_cat("moving_rate must be in (0, 1), got ", a.moving_rate));
  a.window_size = node.attrs.get_int("window_size", 10000);
  if (a.window_size < 1)
    shape_error(node, str_cat("window_size must be >= 1, got ", a.window_size));
  a.sync_scales = node.attrs.get_int("sync_scales", 1) != 0;
  a.frozen = node.attrs.get_int("frozen", 0) != 0;
  return a;
}

float sync_batch_max(Communicator* comm, bool sync, const Tensor& buffer, float m) {
  if (!comm || !sync) return m;
  buffer.data<float>()[0] = m;
  comm->all_reduce_max(buffer);
  return buffer.data<float>()[0];
}

namespace {

struct RefPasses {
  template <class T>
  static T abs_max(const T* x, int64_t n) {
    T m = 0;
    for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
    return m;
  }
  template <class T>
  static void qdq(const T* x, T* y, int64_t n, T s, int64_t bnt) {
    const T fb = static_cast<T>(bnt), k = fb * inverse_threshold(s);
    for (int64_t i = 0; i < n; ++i) y[i] = fake_qdq(x[i], s, k, fb);
  }
  template <class T>
  static void channel_abs_max(const T* x, const ChannelGeom& g, T* s) {
    for (int64_t c = 0; c < g.channels; ++c) s[c] = 0;
    for (int64_t o = 0; o < g.outer; ++o)
      for (int64_t c = 0; c < g.channels; ++c)
        for (int64_t i = 0; i < g.inner; ++i)
          s[c] = std::max(s[c], std::fabs(x[(o * g.channels + c) * g.inner + i]));
  }
  template <class T>
  static void channel_qdq(const T* x, T* y, const ChannelGeom& g, const T* s, int64_t bnt) {
    for (int64_t o = 0; o < g.outer; ++o)
      for (int64_t c = 0; c < g.channels; ++c) {
        const int64_t off = (o * g.channels + c) * g.inner;
        qdq(x + off, y + off, g.inner, s[c], bnt);
      }
  }
  template <class T>
  static void copy(const T* src, T* dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
  }
  // m = max|x|; s = scale_of(m); y = qdq(x; s).
  template <class T, class F>
  static void abs_max_qdq(const T* x, T* y, int64_t n, int64_t bnt, F& scale_of) {
    qdq(x, y, n, scale_of(abs_max(x, n)), bnt);
  }
  template <class T>
  static void channel_abs_max_qdq(const T* x, T* y, const ChannelGeom& g, T* s, int64_t bnt) {
    channel_abs_max(x, g, s);
    channel_qdq(x, y, g, s, bnt);
  }
};

struct FastPasses {
  template <class T>
  static T abs_max(const T* x, int64_t n) {
    return abs_max_fast(x, n);
  }
  template <class T>
  static void qdq(const T* x, T* y, int64_t n, T s, int64_t bnt) {
    fake_qdq_fast(x, y, n, s, bnt);
  }
  template <class T>
  static void channel_abs_max(const T* x, const ChannelGeom& g, T* s) {
    channel_abs_max_fast(x, g, s);
  }
  template <class T>
  static void channel_qdq(const T* x, T* y, const ChannelGeom& g, const T* s, int64_t bnt) {
    channel_fake_qdq_fast(x, y, g, s, bnt);
  }
  template <class T>
  static void copy(const T* src, T* dst, int64_t n) {
    copy_fast(src, dst, n);
  }
  template <class T, class F>
  static void abs_max_qdq(const T* x, T* y, int64_t n, int64_t bnt, F& scale_of) {
    abs_max_then_qdq_fast(x, y, n, bnt, ScaleOfMax(scale_of));
  }
  template <class T>
  static void channel_abs_max_qdq(const T* x, T* y, const ChannelGeom& g, T* s, int64_t bnt) {
    channel_abs_max_qdq_fast(x, y, g, s, bnt);
  }
};

// Calls f(T{}) for the tensor's real type; the fast passes take float only.
template <class P, class F>
void dispatch(DType t, F&& f) {
  if constexpr (std::is_same_v<P, FastPasses>) {
    QF_CHECK(t == DType::f32, "fast fake-quant kernels run on float32, got ", dtype_name(t));
    f(float{});
  } else {
    dispatch_real(t, f);
  }
}

// Shared pieces of every fake-quant kernel: attributes, the sync buffer, the STE backward.
template <class P>
class FakeQuantBase : public Kernel {
 public:
  explicit FakeQuantBase(const KernelSetup& s)
      : a_(fake_quant_attrs(s.node)), comm_(s.comm), sync_buf_(Tensor::zeros({1})) {}
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    dispatch<P>(c.grad_out[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      P::copy(c.grad_out[0]->data<T>(), c.grad_in[0]->data<T>(), c.grad_out[0]->numel());
    });
  }

 protected:
  bool updates(const ForwardCall& c) const { return c.mode == Mode::train && !a_.frozen; }
  float synced(float m) const { return sync_batch_max(comm_, a_.sync_scales, sync_buf_, m); }
  FakeQuantAttrs a_;
  Communicator* comm_;
  Tensor sync_buf_;
};

template <class P>
class AbsMaxKernel final : public FakeQuantBase<P> {
 public:
  using FakeQuantBase<P>::FakeQuantBase;
  void forward(const ForwardCall& c) override {
    dispatch<P>(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      auto scale_of = [&](T m) -> T {
        if (c.mode == Mode::recompute) return static_cast<T>(last_scale_);
        if (c.mode == Mode::train) m = static_cast<T>(this->synced(static_cast<float>(m)));
        if (this->updates(c)) c.in[1]->data<T>()[0] = m;
        last_scale_ = static_cast<double>(m);
        return m;
      };
      P::abs_max_qdq(c.in[0]->data<T>(), c.out[0]->data<T>(), c.in[0]->numel(), this->a_.bnt,
                     scale_of);
    });
  }

 private:
  double last_scale_ = 0;  // the scale of the last forward (all-reduced in training), for recompute
};

template <class P>
class ChannelWiseKernel final : public FakeQuantBase<P> {
 public:
  explicit ChannelWiseKernel(const KernelSetup& s)
      : FakeQuantBase<P>(s),
        g_(channel_geom(s.node, s.in[0].shape)),
        tmp_f_(g_.channels),
        tmp_d_(g_.channels) {}
  void forward(const ForwardCall& c) override {
    dispatch<P>(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = c.in[0]->data<T>();
      // Evaluation recomputes the scales too (Paddle's dygraph weight quantizer) but keeps them
      // out of the model state.
      T* scales = c.in[1]->data<T>();
      if (!this->updates(c)) {
        if constexpr (std::is_same_v<T, float>)
          scales = tmp_f_.data();
        else
          scales = tmp_d_.data();
      }
      P::channel_abs_max_qdq(x, c.out[0]->data<T>(), g_, scales, this->a_.bnt);
    });
  }

 private:
  ChannelGeom g_;
  std::vector<float> tmp_f_;
  std::vector<double> tmp_d_;
};

template <class P>
class MovingAverageKernel final : public FakeQuantBase<P> {
 public:
  // observer: the output is the input, unless the node says quantize = 1.
  explicit MovingAverageKernel(const KernelSetup& s, bool observer = false)
      : FakeQuantBase<P>(s), pass_through_(observer && s.node.attrs.get_int("quantize", 0) == 0) {}
  void forward(const ForwardCall& c) override {
    dispatch<P>(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = c.in[0]->data<T>();
      const int64_t n = c.in[0]->numel();
      T* scale = c.in[1]->data<T>();
      auto update = [&](T batch_max) -> T {
        const float m = this->synced(static_cast<float>(batch_max));
        float sc = static_cast<float>(scale[0]);
        float st = static_cast<float>(c.in[2]->data<T>()[0]);
        float ac = static_cast<float>(c.in[3]->data<T>()[0]);
        ema_scale_update(static_cast<float>(this->a_.moving_rate), m, sc, st, ac);
        scale[0] = sc;
        c.in[2]->data<T>()[0] = st;
        c.in[3]->data<T>()[0] = ac;
        return scale[0];
      };
      T* y = c.out[0]->data<T>();
      if (pass_through_) {
        if (this->updates(c)) update(P::abs_max(x, n));
        P::copy(x, y, n);
      } else if (this->updates(c)) {
        P::abs_max_qdq(x, y, n, this->a_.bnt, update);
      } else {
        P::qdq(x, y, n, scale[0], this->a_.bnt);
      }
    });
  }

 private:
  bool pass_through_;
};

template <class P>
class ObserverKernel final : public Kernel {
 public:
  explicit ObserverKernel(const KernelSetup& s) : inner_(s, true) {}
  void forward(const ForwardCall& c) override { inner_.forward(c); }
  void backward(const BackwardCall& c) override { inner_.backward(c); }

 private:
  MovingAverageKernel<P> inner_;
};

template <class P>
class RangeAbsMaxKernel final : public FakeQuantBase<P> {
 public:
  using FakeQuantBase<P>::FakeQuantBase;
  void forward(const ForwardCall& c) override {
    dispatch<P>(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = c.in[0]->data<T>();
      const int64_t n = c.in[0]->numel();
      T* scale = c.in[1]->data<T>();
      T* y = c.out[0]->data<T>();
      if (!this->updates(c)) return P::qdq(x, y, n, scale[0], this->a_.bnt);
      const int64_t W = this->a_.window_size;
      QF_CHECK(c.in[2]->numel() == W, "range_abs_max window buffer has ", c.in[2]->numel(),
               " entries, window_size is ", W);
      auto update = [&](T batch_max) -> T {
        const float m = this->synced(static_cast<float>(batch_max));
        scale[0] = range_abs_max_update<T>(c.in[2]->data<T>(), W, c.step.step + 1, scale[0],
                                           static_cast<T>(m));
        return scale[0];
      };
      P::abs_max_qdq(x, y, n, this->a_.bnt, update);
    });
  }
};

std::vector<TensorDesc> infer_fake_quant(const Node& node, std::span<const TensorDesc> in) {
  const FakeQuantAttrs a = fake_quant_attrs(node);
  if (in[0].dtype != DType::f32 && in[0].dtype != DType::f64)
    shape_error(node, "input must be float32 or float64");
  for (size_t i = 1; i < in.size(); ++i)
    if (in[i].dtype != in[0].dtype)
      shape_error(node, str_cat("state input ", i, " is ", dtype_name(in[i].dtype), ", input is ",
                                dtype_name(in[0].dtype)));
  const std::string& op = node.op;
  Shape want{1};
  if (op == "fake_channel_wise_quantize_dequantize_abs_max")
    want = {channel_geom(node, in[0].shape).channels};
  if (in[1].shape != want)
    shape_error(
        node, str_cat("scale must have shape ", shape_str(want), ", got ", shape_str(in[1].shape)));
  if (op == "fake_quantize_dequantize_range_abs_max" && in[2].shape != Shape{a.window_size})
    shape_error(node, str_cat("window must have shape [", a.window_size, "], got ",
                              shape_str(in[2].shape)));
  if ((op == "fake_quantize_dequantize_moving_average_abs_max" ||
       op == "moving_average_abs_max_scale") &&
      (in[2].shape != Shape{1} || in[3].shape != Shape{1}))
    shape_error(node, "state and accum must have shape [1]");
  return {in[0]};
}

void add_op(OpRegistry& reg, const std::string& type, int inputs, KernelFactory fast,
            KernelFactory ref) {
  OpDef d;
  d.type = type;
  d.min_inputs = inputs;
  d.max_inputs = inputs;
  for (int i = 1; i < inputs; ++i) d.state_inputs.push_back(i);
  d.grad_passthrough = true;  // straight-through: the executor skips the copy where it can
  d.backward_reads_inputs = 0;
  d.backward_reads_outputs = 0;
  d.recompute_for_backward = true;  // y = qdq(x; s), s kept in the state or the kernel
  d.infer = infer_fake_quant;
  d.kernels[static_cast<int>(KernelKind::cpu)] = fast;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = ref;
  reg.add(std::move(d));
}

}  // namespace

void register_fake_quant_ops(OpRegistry& reg) {
  add_op(reg, "fake_quantize_dequantize_abs_max", 2, make_kernel<AbsMaxKernel<FastPasses>>,
         make_kernel<AbsMaxKernel<RefPasses>>);
  add_op(reg, "fake_channel_wise_quantize_dequantize_abs_max", 2,
         make_kernel<ChannelWiseKernel<FastPasses>>, make_kernel<ChannelWiseKernel<RefPasses>>);
  add_op(reg, "fake_quantize_dequantize_moving_average_abs_max", 4,
         make_kernel<MovingAverageKernel<FastPasses>>, make_kernel<MovingAverageKernel<RefPasses>>);
  add_op(reg, "fake_quantize_dequantize_range_abs_max", 3,
         make_kernel<RangeAbsMaxKernel<FastPasses>>, make_kernel<RangeAbsMaxKernel<RefPasses>>);
  add_op(reg, "moving_average_abs_max_scale", 4, make_kernel<ObserverKernel<FastPasses>>,
         make_kernel<ObserverKernel<RefPasses>>);
}

}  // namespace qf
