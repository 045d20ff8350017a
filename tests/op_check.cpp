#include "tests/op_check.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "nn/context.h"
#include "nn/op_registry.h"

namespace qf::test {

namespace {

// A uniform double in [lo, hi): the same value std::uniform_real_distribution<double> draws from
// std::mt19937_64 in libstdc++ (one 64-bit draw over 2^64, clamped below 1), without the long
// double logarithm it recomputes on every call. Every case of every op builds its random inputs
// when a test process starts (tests/ops/backend_ops_test.cpp), so under AddressSanitizer that
// logarithm made each op-case process (one per case and device) spend seconds before its case ran.
double uniform(std::mt19937_64& gen, double lo, double hi) {
  double u = static_cast<double>(gen()) * 0x1.0p-64;
  if (u >= 1.0) u = std::nextafter(1.0, 0.0);
  return u * (hi - lo) + lo;
}

}  // namespace

Tensor random_tensor(const Shape& s, uint64_t seed, double lo, double hi, DType t) {
  std::mt19937_64 gen(seed);
  Tensor r = Tensor::empty(s, t);
  const int64_t n = r.numel();
  if (t == DType::f64) {
    double* p = r.data<double>();
    for (int64_t i = 0; i < n; ++i) p[i] = uniform(gen, lo, hi);
  } else {
    float* p = r.data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(uniform(gen, lo, hi));
  }
  return r;
}

Tensor random_away_from(const Shape& s, uint64_t seed, double lo, double hi,
                        std::vector<double> kinks, double gap) {
  std::mt19937_64 gen(seed);
  Tensor r = Tensor::empty(s, DType::f64);
  const int64_t n = r.numel();
  double* p = r.data<double>();
  for (int64_t i = 0; i < n; ++i) {
    double v;
    bool ok;
    do {
      v = uniform(gen, lo, hi);
      ok = true;
      for (double k : kinks) ok = ok && std::fabs(v - k) > gap;
    } while (!ok);
    p[i] = v;
  }
  return r;
}

Tensor random_int_tensor(const Shape& s, DType t, uint64_t seed, int lo, int hi) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  Tensor r = Tensor::empty(s, t);
  for (int64_t i = 0; i < r.numel(); ++i) {
    if (t == DType::i8)
      r.data<int8_t>()[i] = static_cast<int8_t>(d(gen));
    else
      r.data<uint8_t>()[i] = static_cast<uint8_t>(d(gen));
  }
  return r;
}

Tensor to_dtype(const Tensor& t, DType d) {
  if (!t.defined() || t.dtype() == d) return t.defined() ? t.clone() : t;
  Tensor r = Tensor::empty(t.shape(), d);
  const int64_t n = t.numel();
  auto get = [&](int64_t i) -> double {
    switch (t.dtype()) {
      case DType::f32: return t.data<float>()[i];
      case DType::f64: return t.data<double>()[i];
      case DType::i32: return t.data<int32_t>()[i];
      case DType::i64: return static_cast<double>(t.data<int64_t>()[i]);
      default: QF_CHECK(false, "to_dtype: unsupported source");
    }
    return 0;
  };
  for (int64_t i = 0; i < n; ++i) {
    switch (d) {
      case DType::f32: r.data<float>()[i] = static_cast<float>(get(i)); break;
      case DType::f64: r.data<double>()[i] = get(i); break;
      case DType::i32: r.data<int32_t>()[i] = static_cast<int32_t>(get(i)); break;
      default: QF_CHECK(false, "to_dtype: unsupported target");
    }
  }
  return r;
}

namespace {

double at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return t.data<float>()[i];
    case DType::f64: return t.data<double>()[i];
    case DType::i32: return t.data<int32_t>()[i];
    case DType::i8: return t.data<int8_t>()[i];
    case DType::u8: return t.data<uint8_t>()[i];
    case DType::i16: return t.data<int16_t>()[i];
    default: QF_CHECK(false, "unsupported dtype in comparison");
  }
  return 0;
}

bool is_real(DType t) { return t == DType::f32 || t == DType::f64; }

}  // namespace

double max_rel_diff(const Tensor& a, const Tensor& b) {
  QF_CHECK(a.numel() == b.numel(), "size mismatch ", shape_str(a.shape()), " vs ",
           shape_str(b.shape()));
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = at(a, i), y = at(b, i);
    if (std::isnan(x) || std::isnan(y)) {  // an unwritten (poisoned) element, or a real NaN
      if (std::isnan(x) && std::isnan(y)) continue;
      return std::numeric_limits<double>::infinity();
    }
    m = std::max(m, std::fabs(x - y) / (1.0 + std::fabs(y)));
  }
  return m;
}

DeviceContext& test_cuda_context(bool tf32) {
  // Never destroyed: at process exit the CUDA runtime may be gone before static destructors run,
  // and cuDNN / cuBLAS handles must not be destroyed after it.
  static DeviceContext* ctx[2] = {nullptr, nullptr};
  DeviceContext*& c = ctx[tf32 ? 1 : 0];
  if (!c) {
    ContextOptions o;
    o.tf32 = tf32;
    c = make_context(Device::cuda(0), o).release();
  }
  return *c;
}

namespace {

// A device tensor of `shape` with every bit set.
Tensor poisoned(DeviceContext& ctx, const Shape& shape, DType dtype) {
  Tensor host = Tensor::empty(shape, dtype);
  std::memset(host.raw(), 0xff, host.nbytes());
  Tensor d = ctx.empty(shape, dtype);
  ctx.copy(d, host);
  return d;
}

Tensor to_host(DeviceContext& ctx, const Tensor& t) {
  if (!t.defined()) return t;
  Tensor h = Tensor::empty(t.shape(), t.dtype());
  ctx.copy(h, t);
  return h;
}

}  // namespace

OpRun run_op(const OpCase& c, KernelKind kind, const std::vector<Tensor>& dy) {
  if (kind == KernelKind::cuda) return run_op_on(c, test_cuda_context(), dy);
  CpuContext ctx(0, kind == KernelKind::cpu_ref);
  return run_op_on(c, ctx, dy);
}

OpRun run_op_on(const OpCase& c, DeviceContext& ctx, const std::vector<Tensor>& dy) {
  const KernelKind kind = ctx.kernel_kind();
  Node node;
  node.op = c.op;
  node.name = "op_under_test";
  node.attrs = c.attrs;
  std::vector<TensorDesc> in;
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    node.inputs.push_back(c.inputs[i].defined() ? static_cast<int>(i) : -1);
    in.push_back(c.inputs[i].defined() ? TensorDesc{c.inputs[i].shape(), c.inputs[i].dtype()}
                                       : TensorDesc{});
    Tensor t;
    if (c.inputs[i].defined()) {
      t = ctx.empty(c.inputs[i].shape(), c.inputs[i].dtype());
      ctx.copy(t, c.inputs[i]);
    }
    inputs.push_back(t);
  }
  const std::vector<TensorDesc> out = infer_node(node, in);
  for (size_t i = 0; i < out.size(); ++i) node.outputs.push_back(static_cast<int>(100 + i));
  const OpDef& def = op_registry().get(c.op);
  KernelFactory f = def.kernels[static_cast<int>(kind)];
  if (!f && kind == KernelKind::cpu) f = def.kernels[static_cast<int>(KernelKind::cpu_ref)];
  QF_CHECK(f, "no ", kernel_kind_name(kind), " kernel for ", c.op);
  auto kernel = f(KernelSetup{node, in, out, ctx, !dy.empty() || c.mode == Mode::train});

  std::vector<Tensor> outputs;
  std::vector<const Tensor*> inp, outp;
  for (auto& t : inputs) inp.push_back(t.defined() ? &t : nullptr);
  for (auto& d : out) outputs.push_back(poisoned(ctx, d.shape, d.dtype));
  for (auto& t : outputs) outp.push_back(&t);
  Tensor ws;
  if (kernel->workspace_bytes()) ws = ctx.empty({(int64_t)kernel->workspace_bytes()}, DType::u8);
  kernel->forward(ForwardCall{inp, outp, c.mode, c.step, ws.defined() ? ws.raw() : nullptr});
  OpRun r;
  for (auto& t : outputs) r.outputs.push_back(to_host(ctx, t));
  for (auto& t : inputs) r.state_after.push_back(to_host(ctx, t));
  if (dy.empty()) return r;

  std::vector<Tensor> dyd, grads(inputs.size());
  for (auto& t : dy) {
    dyd.push_back(ctx.empty(t.shape(), t.dtype()));
    ctx.copy(dyd.back(), t);
  }
  std::vector<const Tensor*> dyp, dxp;
  for (auto& t : dyd) dyp.push_back(&t);
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || def.is_nondiff_input(static_cast<int>(i)) ||
        !is_real(inputs[i].dtype()))
      continue;
    grads[i] = poisoned(ctx, inputs[i].shape(), inputs[i].dtype());
  }
  for (auto& g : grads) dxp.push_back(g.defined() ? &g : nullptr);
  // Backward reads the inputs as they were given (state already updated is what forward saw last).
  kernel->backward(BackwardCall{inp, outp, dyp, dxp, ws.defined() ? ws.raw() : nullptr});
  for (auto& g : grads) r.grads.push_back(to_host(ctx, g));
  return r;
}

void check_gradients(const OpCase& c) {
  OpCase dc = c;
  for (auto& t : dc.inputs)
    if (t.defined() && is_real(t.dtype())) t = to_dtype(t, DType::f64);
  const OpRun base = run_op(dc, KernelKind::cpu_ref);
  std::vector<Tensor> r;
  for (size_t i = 0; i < base.outputs.size(); ++i)
    r.push_back(random_tensor(base.outputs[i].shape(), 1000 + i, -1, 1, base.outputs[i].dtype()));
  const OpRun g = run_op(dc, KernelKind::cpu_ref, r);
  auto loss = [&](const OpCase& oc) {
    OpRun o = run_op(oc, KernelKind::cpu_ref);
    double s = 0;
    for (size_t i = 0; i < o.outputs.size(); ++i)
      if (is_real(o.outputs[i].dtype()))
        for (int64_t k = 0; k < o.outputs[i].numel(); ++k)
          s += o.outputs[i].data<double>()[k] * r[i].data<double>()[k];
    return s;
  };
  for (size_t i = 0; i < dc.inputs.size(); ++i) {
    if (!g.grads[i].defined()) continue;
    for (int64_t k = 0; k < dc.inputs[i].numel(); ++k) {
      OpCase plus = dc, minus = dc;
      plus.inputs[i] = dc.inputs[i].clone();
      minus.inputs[i] = dc.inputs[i].clone();
      plus.inputs[i].data<double>()[k] += c.fd_eps;
      minus.inputs[i].data<double>()[k] -= c.fd_eps;
      const double numeric = (loss(plus) - loss(minus)) / (2 * c.fd_eps);
      const double analytic = g.grads[i].data<double>()[k];
      ASSERT_LE(std::fabs(analytic - numeric), c.grad_tol * (1 + std::fabs(numeric)))
          << c.op << ": input " << i << " element " << k << " analytic " << analytic
          << " numeric " << numeric;
    }
  }
}

void check_fast_matches_ref(const OpCase& c) {
  OpCase fc = c;
  for (auto& t : fc.inputs)
    if (t.defined() && is_real(t.dtype())) t = to_dtype(t, DType::f32);
  const OpRun probe = run_op(fc, KernelKind::cpu_ref);
  std::vector<Tensor> dy;
  for (size_t i = 0; i < probe.outputs.size(); ++i)
    dy.push_back(random_tensor(probe.outputs[i].shape(), 2000 + i, -1, 1, DType::f32));
  const bool train = c.mode == Mode::train;
  const OpRun ref = run_op(fc, KernelKind::cpu_ref, train ? dy : std::vector<Tensor>{});
  const OpRun fast = run_op(fc, KernelKind::cpu, train ? dy : std::vector<Tensor>{});
  for (size_t i = 0; i < ref.outputs.size(); ++i)
    EXPECT_LE(max_rel_diff(fast.outputs[i], ref.outputs[i]), c.fast_tol)
        << c.op << ": output " << i;
  for (size_t i = 0; i < ref.state_after.size(); ++i)
    if (ref.state_after[i].defined() && is_real(ref.state_after[i].dtype()))
      EXPECT_LE(max_rel_diff(fast.state_after[i], ref.state_after[i]), c.fast_tol)
          << c.op << ": input/state " << i << " after forward";
  for (size_t i = 0; i < ref.grads.size(); ++i)
    if (ref.grads[i].defined())
      EXPECT_LE(max_rel_diff(fast.grads[i], ref.grads[i]), c.fast_tol) << c.op << ": grad " << i;
}

OpCase as_float32(OpCase c) {
  for (auto& t : c.inputs)
    if (t.defined() && is_real(t.dtype())) t = to_dtype(t, DType::f32);
  return c;
}

void check_cuda_matches_ref(const OpCase& c) {
  const OpCase fc = as_float32(c);
  const OpRun probe = run_op(fc, KernelKind::cpu_ref);
  std::vector<Tensor> dy;
  for (size_t i = 0; i < probe.outputs.size(); ++i)
    dy.push_back(random_tensor(probe.outputs[i].shape(), 3000 + i, -1, 1, DType::f32));
  const OpDef& def = op_registry().get(c.op);
  bool any_grad = false;
  for (size_t i = 0; i < fc.inputs.size(); ++i)
    any_grad = any_grad || (fc.inputs[i].defined() && is_real(fc.inputs[i].dtype()) &&
                            !def.is_nondiff_input(static_cast<int>(i)));
  const bool train = c.mode == Mode::train && any_grad &&
                     is_real(probe.outputs[0].dtype());
  const OpRun ref = run_op(fc, KernelKind::cpu_ref, train ? dy : std::vector<Tensor>{});
  const OpRun gpu = run_op(fc, KernelKind::cuda, train ? dy : std::vector<Tensor>{});
  for (size_t i = 0; i < ref.outputs.size(); ++i)
    EXPECT_LE(max_rel_diff(gpu.outputs[i], ref.outputs[i]), c.cuda_tol)
        << c.op << ": output " << i;
  for (size_t i = 0; i < ref.state_after.size(); ++i)
    if (ref.state_after[i].defined() && is_real(ref.state_after[i].dtype()))
      EXPECT_LE(max_rel_diff(gpu.state_after[i], ref.state_after[i]), c.cuda_tol)
          << c.op << ": input/state " << i << " after forward";
  for (size_t i = 0; i < ref.grads.size(); ++i)
    if (ref.grads[i].defined())
      EXPECT_LE(max_rel_diff(gpu.grads[i], ref.grads[i]), c.cuda_tol) << c.op << ": grad " << i;
}

}  // namespace qf::test
