// Fast CPU max and average pooling on channels-last data (math in nn/ops/pool2d.h, semantics in
// nn/kernels/cpu/pool2d_ref.h).
//
// Channels-last makes every window element a contiguous row of C values, so each loop below runs a
// vectorised pass over channels per window element. Forward is threaded over (sample, output row);
// backward over (sample, channel block), so threads never write the same dx element.
// Max pooling remembers, per output element, the window position of its first maximum (int32,
// allocated when the kernel is created for training); backward adds dy where the position matches,
// which keeps PyTorch's first-maximum rule without a scatter.
//
// Own loops rather than oneDNN pooling: they implement the tie rule and PyTorch's ceil_mode divisor
// for count_include_pad exactly (oneDNN's include-padding average divides by kh*kw even for the
// extra ceil_mode rows), and pooling is a small share of any network's time.
#include <vector>

#include "nn/ops/op_util.h"
#include "nn/ops/pool2d.h"

namespace qf {
namespace {

constexpr int64_t kBlock = 64;  // channels per backward task

// Zeroes dx[n, :, :, c0:c1].
void zero_block(const PoolGeom& g, float* dx, int64_t n, int64_t c0, int64_t c1) {
  for (int64_t i = 0; i < g.H * g.W; ++i) {
    float* row = dx + (n * g.H * g.W + i) * g.C;
    for (int64_t c = c0; c < c1; ++c) row[c] = 0.f;
  }
}

class MaxPool2dFast final : public Kernel {
 public:
  explicit MaxPool2dFast(const KernelSetup& s) : g_(pool_geom(s.node, s.in[0], false)) {
    if (s.training) pos_.resize(static_cast<size_t>(g_.N * g_.OH * g_.OW * g_.C));
  }

  void forward(const ForwardCall& c) override {
    const PoolGeom g = g_;
    const float* x = c.in[0]->data<float>();
    float* y = c.out[0]->data<float>();
    int32_t* pos = pos_.empty() ? nullptr : pos_.data();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const PoolGeom::Window w = g.window(oh, ow);
          float* yv = y + g.y_at(n, oh, ow);
          const float* first = x + g.x_at(n, w.h0, w.w0);
          for (int64_t ch = 0; ch < g.C; ++ch) yv[ch] = first[ch];
          if (pos) {
            int32_t* pv = pos + g.y_at(n, oh, ow);
            const int32_t p0 = static_cast<int32_t>((w.h0 - w.hs) * g.KW + (w.w0 - w.ws));
            for (int64_t ch = 0; ch < g.C; ++ch) pv[ch] = p0;
            for (int64_t h = w.h0; h < w.h1; ++h)
              for (int64_t v = (h == w.h0 ? w.w0 + 1 : w.w0); v < w.w1; ++v) {
                const float* xr = x + g.x_at(n, h, v);
                const int32_t p = static_cast<int32_t>((h - w.hs) * g.KW + (v - w.ws));
#pragma omp simd
                for (int64_t ch = 0; ch < g.C; ++ch)
                  if (xr[ch] > yv[ch]) {
                    yv[ch] = xr[ch];
                    pv[ch] = p;
                  }
              }
          } else {
            for (int64_t h = w.h0; h < w.h1; ++h)
              for (int64_t v = w.w0; v < w.w1; ++v) {
                const float* xr = x + g.x_at(n, h, v);
#pragma omp simd
                for (int64_t ch = 0; ch < g.C; ++ch) yv[ch] = xr[ch] > yv[ch] ? xr[ch] : yv[ch];
              }
          }
        }
  }

  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    QF_CHECK(!pos_.empty(), "max_pool2d backward on a kernel created for inference");
    const PoolGeom g = g_;
    const float* dy = c.grad_out[0]->data<float>();
    float* dx = c.grad_in[0]->data<float>();
    const int32_t* pos = pos_.data();
    const int64_t nb = (g.C + kBlock - 1) / kBlock;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t b = 0; b < nb; ++b) {
        const int64_t c0 = b * kBlock, c1 = std::min(g.C, c0 + kBlock);
        zero_block(g, dx, n, c0, c1);
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const PoolGeom::Window w = g.window(oh, ow);
            const float* dyv = dy + g.y_at(n, oh, ow);
            const int32_t* pv = pos + g.y_at(n, oh, ow);
            for (int64_t h = w.h0; h < w.h1; ++h)
              for (int64_t v = w.w0; v < w.w1; ++v) {
                float* dxr = dx + g.x_at(n, h, v);
                const int32_t p = static_cast<int32_t>((h - w.hs) * g.KW + (v - w.ws));
#pragma omp simd
                for (int64_t ch = c0; ch < c1; ++ch)
                  if (pv[ch] == p) dxr[ch] += dyv[ch];
              }
          }
      }
  }

 private:
  PoolGeom g_;
  std::vector<int32_t> pos_;  // window position (kh * KW + kw) of each output's first maximum
};

class AvgPool2dFast final : public Kernel {
 public:
  explicit AvgPool2dFast(const KernelSetup& s) : g_(pool_geom(s.node, s.in[0], true)) {}

  void forward(const ForwardCall& c) override {
    const PoolGeom g = g_;
    const float* x = c.in[0]->data<float>();
    float* y = c.out[0]->data<float>();
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const PoolGeom::Window w = g.window(oh, ow);
          float* yv = y + g.y_at(n, oh, ow);
          for (int64_t ch = 0; ch < g.C; ++ch) yv[ch] = 0.f;
          for (int64_t h = w.h0; h < w.h1; ++h)
            for (int64_t v = w.w0; v < w.w1; ++v) {
              const float* xr = x + g.x_at(n, h, v);
#pragma omp simd
              for (int64_t ch = 0; ch < g.C; ++ch) yv[ch] += xr[ch];
            }
          const float inv = 1.f / static_cast<float>(g.divisor(w));
#pragma omp simd
          for (int64_t ch = 0; ch < g.C; ++ch) yv[ch] *= inv;
        }
  }

  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    const PoolGeom g = g_;
    const float* dy = c.grad_out[0]->data<float>();
    float* dx = c.grad_in[0]->data<float>();
    const int64_t nb = (g.C + kBlock - 1) / kBlock;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t b = 0; b < nb; ++b) {
        const int64_t c0 = b * kBlock, c1 = std::min(g.C, c0 + kBlock);
        zero_block(g, dx, n, c0, c1);
        for (int64_t oh = 0; oh < g.OH; ++oh)
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const PoolGeom::Window w = g.window(oh, ow);
            const float inv = 1.f / static_cast<float>(g.divisor(w));
            const float* dyv = dy + g.y_at(n, oh, ow);
            for (int64_t h = w.h0; h < w.h1; ++h)
              for (int64_t v = w.w0; v < w.w1; ++v) {
                float* dxr = dx + g.x_at(n, h, v);
#pragma omp simd
                for (int64_t ch = c0; ch < c1; ++ch) dxr[ch] += dyv[ch] * inv;
              }
          }
      }
  }

 private:
  PoolGeom g_;
};

}  // namespace

std::unique_ptr<Kernel> make_max_pool2d_fast(const KernelSetup& s) {
  return std::make_unique<MaxPool2dFast>(s);
}

std::unique_ptr<Kernel> make_avg_pool2d_fast(const KernelSetup& s) {
  return std::make_unique<AvgPool2dFast>(s);
}

}  // namespace qf
