// Reference 2-D convolution: plain loops, templated on the scalar so gradient checks run it in
// double precision. x and y are (N, C, H, W) channels-last; w is (K, C/g, R, S) row-major.
//
//   y[n,k,oh,ow] = b[k] + sum_{c in group(k), r, s} x[n, c, oh*sh - pt + r*dh, ow*sw - pl + s*dw]
//                                                   * w[k, c - group_start(k), r, s]
// Backward overwrites dx, dw, db (each optional: pass null to skip).
#pragma once

#include <cstdint>
#include <cstring>

namespace qf {

struct ConvGeom {
  int64_t N, C, H, W;  // input
  int64_t K, R, S;     // output channels, kernel height and width
  int64_t OH, OW;      // output spatial size
  int64_t sh, sw, pt, pl, dh, dw, groups;
};

template <class T>
void conv2d_forward_ref(const ConvGeom& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t cg = g.C / g.groups, kg = g.K / g.groups;
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow)
        for (int64_t k = 0; k < g.K; ++k) {
          const int64_t c0 = (k / kg) * cg;
          T acc = b ? b[k] : T(0);
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t r = 0; r < g.R; ++r) {
              const int64_t ih = oh * g.sh - g.pt + r * g.dh;
              if (ih < 0 || ih >= g.H) continue;
              for (int64_t s = 0; s < g.S; ++s) {
                const int64_t iw = ow * g.sw - g.pl + s * g.dw;
                if (iw < 0 || iw >= g.W) continue;
                acc += x[((n * g.H + ih) * g.W + iw) * g.C + c0 + c] *
                       w[((k * cg + c) * g.R + r) * g.S + s];
              }
            }
          y[((n * g.OH + oh) * g.OW + ow) * g.K + k] = acc;
        }
}

template <class T>
void conv2d_backward_ref(const ConvGeom& g, const T* x, const T* w, const T* dy, T* dx, T* dwt,
                         T* db) {
  const int64_t cg = g.C / g.groups, kg = g.K / g.groups;
  if (dx) std::memset(dx, 0, sizeof(T) * g.N * g.C * g.H * g.W);
  if (dwt) std::memset(dwt, 0, sizeof(T) * g.K * cg * g.R * g.S);
  if (db) std::memset(db, 0, sizeof(T) * g.K);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow)
        for (int64_t k = 0; k < g.K; ++k) {
          const T d = dy[((n * g.OH + oh) * g.OW + ow) * g.K + k];
          if (db) db[k] += d;
          const int64_t c0 = (k / kg) * cg;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t r = 0; r < g.R; ++r) {
              const int64_t ih = oh * g.sh - g.pt + r * g.dh;
              if (ih < 0 || ih >= g.H) continue;
              for (int64_t s = 0; s < g.S; ++s) {
                const int64_t iw = ow * g.sw - g.pl + s * g.dw;
                if (iw < 0 || iw >= g.W) continue;
                const int64_t xi = ((n * g.H + ih) * g.W + iw) * g.C + c0 + c;
                const int64_t wi = ((k * cg + c) * g.R + r) * g.S + s;
                if (dx) dx[xi] += d * w[wi];
                if (dwt) dwt[wi] += d * x[xi];
              }
            }
        }
}

}  // namespace qf
