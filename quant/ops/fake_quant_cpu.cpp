// Fast CPU passes of the fake-quant ops (math in quant/ops/fake_quant.h): float32, OpenMP threads
// over contiguous chunks and SIMD lanes inside each chunk. A fake-quant node costs two passes over
// its input: one reading it (the abs-max reduction) and one reading it and writing the output
// (clip, quantize, dequantize fused). The per-element arithmetic is the reference's, in the same
// order, so fast and reference outputs are bit-identical.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "quant/ops/fake_quant.h"

namespace qf {
namespace {

constexpr int64_t kParallelMin = 1 << 15;  // elements below which threads cost more than they save

// max |x| over [b, e), vectorised with 16 independent lanes.
float abs_max_range(const float* x, int64_t b, int64_t e) {
  constexpr int L = 16;
  float lane[L] = {0};
  int64_t i = b;
  for (; i + L <= e; i += L) {
#pragma omp simd
    for (int k = 0; k < L; ++k) lane[k] = std::max(lane[k], std::fabs(x[i + k]));
  }
  float m = 0.f;
  for (int k = 0; k < L; ++k) m = std::max(m, lane[k]);
  for (; i < e; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

void qdq_range(const float* x, float* y, int64_t n, float s, float k, float bnt) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = fake_qdq(x[i], s, k, bnt);
}

}  // namespace

float abs_max_fast(const float* x, int64_t n) {
  if (n < kParallelMin) return abs_max_range(x, 0, n);
  float m = 0.f;
#pragma omp parallel reduction(max : m)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t b = std::min<int64_t>(n, t * chunk), e = std::min<int64_t>(n, b + chunk);
    m = std::max(m, abs_max_range(x, b, e));
  }
  return m;
}

void fake_qdq_fast(const float* x, float* y, int64_t n, float s, int64_t bnt) {
  const float fb = static_cast<float>(bnt);
  const float k = fb * inverse_threshold(s);
  if (n < kParallelMin) return qdq_range(x, y, n, s, k, fb);
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t b = std::min<int64_t>(n, t * chunk), e = std::min<int64_t>(n, b + chunk);
    qdq_range(x + b, y + b, e - b, s, k, fb);
  }
}

void channel_abs_max_fast(const float* x, const ChannelGeom& g, float* scales) {
  const int64_t C = g.channels, inner = g.inner, outer = g.outer;
  const bool par = outer * C * inner >= kParallelMin;
  if (outer == 1) {  // axis 0: each channel is one contiguous block
#pragma omp parallel for schedule(static) if (par)
    for (int64_t c = 0; c < C; ++c) scales[c] = abs_max_range(x + c * inner, 0, inner);
    return;
  }
#pragma omp parallel for schedule(static) if (par)
  for (int64_t c = 0; c < C; ++c) {
    float m = 0.f;
    for (int64_t o = 0; o < outer; ++o)
      m = std::max(m, abs_max_range(x + (o * C + c) * inner, 0, inner));
    scales[c] = m;
  }
}

void channel_fake_qdq_fast(const float* x, float* y, const ChannelGeom& g, const float* scales,
                           int64_t bnt) {
  const int64_t C = g.channels, inner = g.inner, rows = g.outer * C;
  const float fb = static_cast<float>(bnt);
#pragma omp parallel for schedule(static) if (rows * inner >= kParallelMin)
  for (int64_t r = 0; r < rows; ++r) {
    const float s = scales[r % C];
    qdq_range(x + r * inner, y + r * inner, inner, s, fb * inverse_threshold(s), fb);
  }
}

void copy_fast(const float* src, float* dst, int64_t n) {
  if (n < kParallelMin) {
    std::memcpy(dst, src, sizeof(float) * n);
    return;
  }
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t b = std::min<int64_t>(n, t * chunk), e = std::min<int64_t>(n, b + chunk);
    if (e > b) std::memcpy(dst + b, src + b, sizeof(float) * (e - b));
  }
}

}  // namespace qf
