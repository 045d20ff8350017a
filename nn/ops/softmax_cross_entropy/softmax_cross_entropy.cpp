// softmax_cross_entropy: mean cross-entropy of softmax(logits) against label-smoothed one-hot
// targets (torch.nn.CrossEntropyLoss(label_smoothing=eps), Paddle's label_smooth + softmax_with_
// cross_entropy).
//   inputs: logits z (N, K) float; labels (N) int32 in [0, K) — not differentiable
//   attrs:  label_smoothing eps (0.0), 0 <= eps < 1
//   output: loss, a scalar (shape [], one element)
//     target[n, k] = (1 - eps) * [k == label[n]] + eps / K
//     m[n] = max_k z[n, k],  s[n] = sum_k exp(z[n, k] - m[n])                   (stable)
//     loss = 1/N * sum_n (log s[n] - sum_k target[n, k] * (z[n, k] - m[n]))
//          = 1/N * sum_n (logsumexp(z[n]) - sum_k target[n, k] * z[n, k])
// A label outside [0, K) is an InputError naming its value, its position and K.
//
// Gradient contract: dz = dloss * (softmax(z) - target) / N, overwritten.
#include <cmath>
#include <utility>
#include <vector>

#include "nn/ops/op_util.h"

namespace qf {
namespace {

double smoothing_of(const Node& node) {
  const double eps = node.attrs.get_float("label_smoothing", 0.0);
  if (!(eps >= 0.0 && eps < 1.0))
    shape_error(node, str_cat("label_smoothing must be in [0, 1), got ", eps));
  return eps;
}

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  smoothing_of(node);
  expect_rank(node, in[0], 2, "logits");
  expect_rank(node, in[1], 1, "labels");
  if (in[0].dtype != DType::f32 && in[0].dtype != DType::f64)
    shape_error(node, str_cat("logits must be float32, got ", dtype_name(in[0].dtype)));
  if (in[1].dtype != DType::i32)
    shape_error(node, str_cat("labels must be int32, got ", dtype_name(in[1].dtype)));
  if (in[1].shape[0] != in[0].shape[0] || in[0].shape[1] < 1)
    shape_error(node, str_cat("logits ", shape_str(in[0].shape), " need one label per row, got ",
                              "labels ", shape_str(in[1].shape)));
  return {{Shape{}, in[0].dtype}};
}

class SoftmaxXentBase : public Kernel {
 public:
  explicit SoftmaxXentBase(const KernelSetup& s)
      : name_(s.node.name),
        eps_(smoothing_of(s.node)),
        N_(s.in[0].shape[0]),
        K_(s.in[0].shape[1]) {}

 protected:
  void check_labels(const int32_t* labels) const {
    for (int64_t n = 0; n < N_; ++n)
      if (labels[n] < 0 || labels[n] >= K_)
        throw_input_error("node '", name_, "' (softmax_cross_entropy): label ", labels[n],
                          " at position ", n, " is outside [0, ", K_, ") for ", K_, " classes");
  }

  std::string name_;
  double eps_;
  int64_t N_, K_;
};

class SoftmaxXentRef final : public SoftmaxXentBase {
 public:
  using SoftmaxXentBase::SoftmaxXentBase;
  void forward(const ForwardCall& c) override {
    const int32_t* labels = c.in[1]->data<int32_t>();
    check_labels(labels);
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* z = c.in[0]->data<T>();
      T total = 0;
      for (int64_t n = 0; n < N_; ++n) {
        const T* row = z + n * K_;
        const auto [m, log_s] = lse(row);
        T dot = 0;
        for (int64_t k = 0; k < K_; ++k) dot += target<T>(k, labels[n]) * (row[k] - m);
        total += log_s - dot;
      }
      c.out[0]->data<T>()[0] = total / static_cast<T>(N_);
    });
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    const int32_t* labels = c.in[1]->data<int32_t>();
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* z = c.in[0]->data<T>();
      T* dz = c.grad_in[0]->data<T>();
      const T g = c.grad_out[0]->data<T>()[0] / static_cast<T>(N_);
      for (int64_t n = 0; n < N_; ++n) {
        const T* row = z + n * K_;
        const auto [m, log_s] = lse(row);
        for (int64_t k = 0; k < K_; ++k)
          dz[n * K_ + k] = g * (std::exp(row[k] - m - log_s) - target<T>(k, labels[n]));
      }
    });
  }

 private:
  template <class T>
  T target(int64_t k, int32_t label) const {
    return (k == label ? T(1) - T(eps_) : T(0)) + T(eps_) / static_cast<T>(K_);
  }
  // lse = m + log_s; kept apart so that z - lse is computed as (z - m) - log_s without
  // cancellation.
  template <class T>
  std::pair<T, T> lse(const T* row) const {
    T m = row[0];
    for (int64_t k = 1; k < K_; ++k) m = std::max(m, row[k]);
    T s = 0;
    for (int64_t k = 0; k < K_; ++k) s += std::exp(row[k] - m);
    return {m, std::log(s)};
  }
};

// Float, threaded over rows; keeps each row's max and log-sum-exp of the shifted row for backward.
class SoftmaxXentFast final : public SoftmaxXentBase {
 public:
  explicit SoftmaxXentFast(const KernelSetup& s) : SoftmaxXentBase(s), max_(N_), log_s_(N_) {}
  void forward(const ForwardCall& c) override {
    const int32_t* labels = c.in[1]->data<int32_t>();
    check_labels(labels);
    const float* z = c.in[0]->data<float>();
    const int64_t N = N_, K = K_;
    const float on = static_cast<float>(1.0 - eps_), off = static_cast<float>(eps_ / K_);
    float* max = max_.data();
    float* log_s = log_s_.data();
    double total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static) if (N * K > 16384)
    for (int64_t n = 0; n < N; ++n) {
      const float* row = z + n * K;
      float m = row[0];
#pragma omp simd reduction(max : m)
      for (int64_t k = 0; k < K; ++k) m = std::max(m, row[k]);
      float s = 0, shifted = 0;  // sum exp(z - m), sum (z - m)
      for (int64_t k = 0; k < K; ++k) {
        s += std::exp(row[k] - m);
        shifted += row[k] - m;
      }
      max[n] = m;
      log_s[n] = std::log(s);
      total += static_cast<double>(log_s[n]) - (on * (row[labels[n]] - m) + off * shifted);
    }
    c.out[0]->data<float>()[0] = static_cast<float>(total / static_cast<double>(N));
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    const int32_t* labels = c.in[1]->data<int32_t>();
    const float* z = c.in[0]->data<float>();
    float* dz = c.grad_in[0]->data<float>();
    const int64_t N = N_, K = K_;
    const float g = c.grad_out[0]->data<float>()[0] / static_cast<float>(N);
    const float on = static_cast<float>(1.0 - eps_), off = static_cast<float>(eps_ / K_);
    const float* max = max_.data();
    const float* log_s = log_s_.data();
#pragma omp parallel for schedule(static) if (N * K > 16384)
    for (int64_t n = 0; n < N; ++n) {
      const float* row = z + n * K;
      float* d = dz + n * K;
      for (int64_t k = 0; k < K; ++k) d[k] = g * (std::exp(row[k] - max[n] - log_s[n]) - off);
      d[labels[n]] -= g * on;
    }
  }

 private:
  std::vector<float> max_, log_s_;
};

}  // namespace

void register_softmax_cross_entropy(OpRegistry& reg) {
  OpDef d;
  d.type = "softmax_cross_entropy";
  d.min_inputs = 2;
  d.max_inputs = 2;
  d.nondiff_inputs = {1};
  d.infer = infer;
  d.backward_reads_outputs = 0;  // backward reads the logits and the labels
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_kernel<SoftmaxXentFast>;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<SoftmaxXentRef>;
  reg.add(std::move(d));
}

}  // namespace qf
