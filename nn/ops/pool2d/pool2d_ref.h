// Reference 2-D max and average pooling: plain loops, templated on the scalar so gradient checks
// run them in double precision. x and y are (N, C, H, W) channels-last.
//
// Window of output (oh, ow): rows hs = oh*sh - pt .. hs + KH - 1, columns ws = ow*sw - pl ..
// ws + KW - 1; only rows in [0, H) and columns in [0, W) hold data (the rest is padding).
//   max: y = max over the data in the window (padding never wins); backward routes dy to the FIRST
//        maximum in row-major window order (PyTorch's rule for ties).
//   avg: y = sum over the data / divisor, divisor = number of data elements (count_include_pad 0),
//        or the window clipped to the explicitly padded input [-pt, H + pb) x [-pl, W + pr)
//        (count_include_pad 1; PyTorch's rule: the extra rows ceil_mode adds are never counted).
// Backward overwrites dx.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace qf {

struct PoolGeom {
  int64_t N, C, H, W;
  int64_t KH, KW, sh, sw;
  int64_t pt, pl, pb, pr;
  int64_t OH, OW;
  bool count_include_pad = false;

  // Window of output (oh, ow): first row/column (may be negative) and the data range [h0, h1) x
  // [w0, w1), never empty for a valid geometry.
  struct Window {
    int64_t hs, ws, h0, h1, w0, w1;
  };
  Window window(int64_t oh, int64_t ow) const {
    const int64_t hs = oh * sh - pt, ws = ow * sw - pl;
    return {hs,
            ws,
            std::max<int64_t>(hs, 0),
            std::min(hs + KH, H),
            std::max<int64_t>(ws, 0),
            std::min(ws + KW, W)};
  }
  int64_t divisor(const Window& w) const {
    if (!count_include_pad) return (w.h1 - w.h0) * (w.w1 - w.w0);
    return (std::min(w.hs + KH, H + pb) - w.hs) * (std::min(w.ws + KW, W + pr) - w.ws);
  }
  int64_t x_at(int64_t n, int64_t h, int64_t w) const { return ((n * H + h) * W + w) * C; }
  int64_t y_at(int64_t n, int64_t oh, int64_t ow) const { return ((n * OH + oh) * OW + ow) * C; }
};

// Offset (in x) of the first maximum of output (n, oh, ow, c)'s window.
template <class T>
int64_t max_pool2d_argmax_ref(const PoolGeom& g, const T* x, int64_t n, int64_t oh, int64_t ow,
                              int64_t c) {
  const PoolGeom::Window w = g.window(oh, ow);
  int64_t best = g.x_at(n, w.h0, w.w0) + c;
  for (int64_t h = w.h0; h < w.h1; ++h)
    for (int64_t v = w.w0; v < w.w1; ++v) {
      const int64_t i = g.x_at(n, h, v) + c;
      if (x[i] > x[best]) best = i;
    }
  return best;
}

template <class T>
void max_pool2d_forward_ref(const PoolGeom& g, const T* x, T* y) {
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow)
        for (int64_t c = 0; c < g.C; ++c)
          y[g.y_at(n, oh, ow) + c] = x[max_pool2d_argmax_ref(g, x, n, oh, ow, c)];
}

template <class T>
void max_pool2d_backward_ref(const PoolGeom& g, const T* x, const T* dy, T* dx) {
  std::memset(dx, 0, sizeof(T) * g.N * g.H * g.W * g.C);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow)
        for (int64_t c = 0; c < g.C; ++c)
          dx[max_pool2d_argmax_ref(g, x, n, oh, ow, c)] += dy[g.y_at(n, oh, ow) + c];
}

template <class T>
void avg_pool2d_forward_ref(const PoolGeom& g, const T* x, T* y) {
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const PoolGeom::Window w = g.window(oh, ow);
        for (int64_t c = 0; c < g.C; ++c) {
          T s = 0;
          for (int64_t h = w.h0; h < w.h1; ++h)
            for (int64_t v = w.w0; v < w.w1; ++v) s += x[g.x_at(n, h, v) + c];
          y[g.y_at(n, oh, ow) + c] = s / static_cast<T>(g.divisor(w));
        }
      }
}

template <class T>
void avg_pool2d_backward_ref(const PoolGeom& g, const T* dy, T* dx) {
  std::memset(dx, 0, sizeof(T) * g.N * g.H * g.W * g.C);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const PoolGeom::Window w = g.window(oh, ow);
        for (int64_t c = 0; c < g.C; ++c) {
          const T d = dy[g.y_at(n, oh, ow) + c] / static_cast<T>(g.divisor(w));
          for (int64_t h = w.h0; h < w.h1; ++h)
            for (int64_t v = w.w0; v < w.w1; ++v) dx[g.x_at(n, h, v) + c] += d;
        }
      }
}

}  // namespace qf
