// global_avg_pool (ONNX GlobalAveragePool, torch AdaptiveAvgPool2d(1)):
//   y[n, c, 0, 0] = 1/(H*W) * sum_{h, w} x[n, c, h, w]
//   input:  x (N, C, H, W) channels-last        output: y (N, C, 1, 1)
// Cost (macs): N*C*H*W additions.
//
// Gradient contract: dx[n, c, h, w] = dy[n, c] / (H*W); overwrites dx.
#include "nn/ops/op_util.h"

namespace qf {
namespace {

std::vector<TensorDesc> infer(const Node& node, std::span<const TensorDesc> in) {
  expect_rank(node, in[0], 4, "input");
  const Shape& x = in[0].shape;
  if (x[2] < 1 || x[3] < 1) shape_error(node, str_cat("empty input ", shape_str(x)));
  return {{{x[0], x[1], 1, 1}, in[0].dtype}};
}

int64_t macs(const Node&, std::span<const TensorDesc> in, std::span<const TensorDesc>) {
  return numel(in[0].shape);
}

struct Dims {
  int64_t N, C, HW;
  explicit Dims(const KernelSetup& s)
      : N(s.in[0].shape[0]), C(s.in[0].shape[1]), HW(s.in[0].shape[2] * s.in[0].shape[3]) {}
};

class GlobalAvgPoolRef final : public Kernel {
 public:
  explicit GlobalAvgPoolRef(const KernelSetup& s) : d_(s) {}
  void forward(const ForwardCall& c) override {
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* x = c.in[0]->data<T>();
      T* y = c.out[0]->data<T>();
      for (int64_t n = 0; n < d_.N; ++n)
        for (int64_t ch = 0; ch < d_.C; ++ch) {
          T s = 0;
          for (int64_t i = 0; i < d_.HW; ++i) s += x[(n * d_.HW + i) * d_.C + ch];
          y[n * d_.C + ch] = s / static_cast<T>(d_.HW);
        }
    });
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    dispatch_real(c.in[0]->dtype(), [&](auto t) {
      using T = decltype(t);
      const T* dy = c.grad_out[0]->data<T>();
      T* dx = c.grad_in[0]->data<T>();
      for (int64_t n = 0; n < d_.N; ++n)
        for (int64_t i = 0; i < d_.HW; ++i)
          for (int64_t ch = 0; ch < d_.C; ++ch)
            dx[(n * d_.HW + i) * d_.C + ch] = dy[n * d_.C + ch] / static_cast<T>(d_.HW);
    });
  }

 private:
  Dims d_;
};

// Channels-last makes both directions contiguous over C: forward sums H*W rows of C floats per
// sample (threaded over samples and channel blocks), backward broadcasts one row.
class GlobalAvgPoolFast final : public Kernel {
 public:
  explicit GlobalAvgPoolFast(const KernelSetup& s) : d_(s) {}
  void forward(const ForwardCall& c) override {
    const float* x = c.in[0]->data<float>();
    float* y = c.out[0]->data<float>();
    const int64_t N = d_.N, C = d_.C, HW = d_.HW, nb = (C + kBlock - 1) / kBlock;
    const float inv = 1.f / static_cast<float>(HW);
#pragma omp parallel for collapse(2) schedule(static) if (N * C * HW > 32768)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t b = 0; b < nb; ++b) {
        const int64_t c0 = b * kBlock, c1 = std::min(C, c0 + kBlock);
        float acc[kBlock] = {};
        for (int64_t i = 0; i < HW; ++i) {
          const float* row = x + (n * HW + i) * C;
#pragma omp simd
          for (int64_t ch = c0; ch < c1; ++ch) acc[ch - c0] += row[ch];
        }
        for (int64_t ch = c0; ch < c1; ++ch) y[n * C + ch] = acc[ch - c0] * inv;
      }
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    const float* dy = c.grad_out[0]->data<float>();
    float* dx = c.grad_in[0]->data<float>();
    const int64_t N = d_.N, C = d_.C, HW = d_.HW;
    const float inv = 1.f / static_cast<float>(HW);
#pragma omp parallel for collapse(2) schedule(static) if (N * C * HW > 32768)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        float* row = dx + (n * HW + i) * C;
        const float* g = dy + n * C;
#pragma omp simd
        for (int64_t ch = 0; ch < C; ++ch) row[ch] = g[ch] * inv;
      }
  }

 private:
  static constexpr int64_t kBlock = 64;
  Dims d_;
};

}  // namespace

void register_global_avg_pool(OpRegistry& reg) {
  OpDef d;
  d.type = "global_avg_pool";
  d.infer = infer;
  d.backward_reads_inputs = 0;  // backward reads only the output gradient
  d.backward_reads_outputs = 0;
  d.macs = macs;
  d.kernels[static_cast<int>(KernelKind::cpu)] = make_kernel<GlobalAvgPoolFast>;
  d.kernels[static_cast<int>(KernelKind::cpu_ref)] = make_kernel<GlobalAvgPoolRef>;
  reg.add(std::move(d));
}

}  // namespace qf
