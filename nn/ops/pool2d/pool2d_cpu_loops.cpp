// Average pooling on channels-last data with OpenMP loops (math in nn/ops/pool2d/pool2d.h,
// semantics in nn/ops/pool2d/pool2d_ref.h). oneDNN runs every other pooling node (nn/kernels/cpu/
// pool2d_dnnl.cpp, with measurements); these loops take the one case where oneDNN's divisor is
// not PyTorch's: count_include_pad with ceil_mode windows that run past the explicit padding.
//
// Channels-last makes every window element a contiguous row of C values, so each loop runs a
// vectorised pass over channels per window element. Forward is threaded over (sample, output row);
// backward over (sample, channel block), so threads never write the same dx element.
#include "nn/ops/op_util.h"
#include "nn/ops/pool2d/pool2d.h"

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

class AvgPool2dLoops final : public Kernel {
 public:
  explicit AvgPool2dLoops(const KernelSetup& s) : g_(pool_geom(s.node, s.in[0], true)) {}

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

std::unique_ptr<Kernel> make_avg_pool2d_loops(const KernelSetup& s) {
  return std::make_unique<AvgPool2dLoops>(s);
}

}  // namespace qf
