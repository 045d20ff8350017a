// dropout (inverted, as PyTorch): in training each element is kept with probability 1 - p and
// scaled by 1 / (1 - p); in eval mode the op is the identity.
//   input:  x (any shape; a 4-D x is channels-last and the mask follows memory order)
//   attrs:  ratio p (0.5), 0 <= p < 1
//   output: y = x * m / (1 - p), m[i] = rng_keep(key, i, ceil(p * 2^24))
//           key = rng_key(step.seed, step.step, stream_of_name(node.name))
// The mask is a pure function of (seed, step, node name, element index) —
// nn/ops/dropout/counter_rng.h — so a resumed run draws the same masks, any thread count gives the
// same result, and a CUDA kernel can reproduce it bit for bit. Backward recomputes the mask of the
// last forward from its key.
//
// Gradient contract: dx = dy * m / (1 - p) (dy after an eval-mode forward); overwrites dx.
#include <cstring>

#include "nn/ops/dropout/counter_rng.h"
#include "nn/ops/op_util.h"

namespace qf {
namespace {

double ratio_of(const Node& node) {
  const double p = node.attrs.get_float("ratio", 0.5);
  if (!(p >= 0.0 && p < 1.0)) shape_error(node, str_cat("ratio must be in [0, 1), got ", p));
  return p;
}

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  ratio_of(node);
  return {in[0]};
}

// What forward and backward share: the mask parameters of the last forward call.
class DropoutBase : public Kernel {
 public:
  explicit DropoutBase(const KernelSetup& s)
      : p_(ratio_of(s.node)),
        threshold_(rng_drop_threshold(p_)),
        stream_(stream_of_name(s.node.name)) {}

 protected:
  // Sets key_ and active_ for this call; false when the op is the identity.
  bool begin(const ForwardCall& c) {
    active_ = c.mode == Mode::train && p_ > 0.0;
    key_ = rng_key(c.step.seed, static_cast<uint64_t>(c.step.step), stream_);
    return active_;
  }
  static void copy(const Tensor& dst, const Tensor& src) {
    if (dst.raw() != src.raw()) std::memcpy(dst.raw(), src.raw(), src.nbytes());
  }

  double p_;
  uint32_t threshold_;
  uint64_t stream_;
  uint64_t key_ = 0;
  bool active_ = false;
};

class DropoutRef final : public DropoutBase {
 public:
  using DropoutBase::DropoutBase;
  void forward(const ForwardCall& c) override {
    if (!begin(c)) return copy(*c.out[0], *c.in[0]);
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      apply<T>(c.in[0]->data<T>(), c.out[0]->data<T>(), c.in[0]->numel());
    });
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    if (!active_) return copy(*c.grad_in[0], *c.grad_out[0]);
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      apply<T>(c.grad_out[0]->data<T>(), c.grad_in[0]->data<T>(), c.in[0]->numel());
    });
  }

 private:
  template <class T>
  void apply(const T* a, T* b, int64_t n) const {
    const T scale = static_cast<T>(1.0 / (1.0 - p_));
    for (int64_t i = 0; i < n; ++i)
      b[i] = rng_keep(key_, static_cast<uint64_t>(i), threshold_) ? a[i] * scale : T(0);
  }
};

// The same mask, threaded and vectorised (float only).
class DropoutFast final : public DropoutBase {
 public:
  using DropoutBase::DropoutBase;
  void forward(const ForwardCall& c) override {
    if (!begin(c)) return copy(*c.out[0], *c.in[0]);
    apply(c.in[0]->data<float>(), c.out[0]->data<float>(), c.in[0]->numel());
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    if (!active_) return copy(*c.grad_in[0], *c.grad_out[0]);
    apply(c.grad_out[0]->data<float>(), c.grad_in[0]->data<float>(), c.in[0]->numel());
  }

 private:
  void apply(const float* a, float* b, int64_t n) const {
    const float scale = static_cast<float>(1.0 / (1.0 - p_));
    const uint64_t key = key_;
    const uint32_t thr = threshold_;
#pragma omp parallel for simd schedule(static) if (n > 16384)
    for (int64_t i = 0; i < n; ++i)
      b[i] = rng_keep(key, static_cast<uint64_t>(i), thr) ? a[i] * scale : 0.f;
  }
};

}  // namespace

void register_dropout(OpRegistry& reg) {
  OpDef d;
  d.type = "dropout";
  d.infer = infer;
  d.backward_reads_inputs = 0;  // backward recomputes the mask from the step and seed
  d.backward_reads_outputs = 0;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_kernel<DropoutFast>;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<DropoutRef>;
  reg.add(std::move(d));
}

}  // namespace qf
