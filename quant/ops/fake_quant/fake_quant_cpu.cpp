// Fast CPU passes of the fake-quant ops (math in quant/ops/fake_quant/fake_quant.h): float32,
// OpenMP threads over contiguous chunks and SIMD lanes inside each chunk. The per-element
// arithmetic is the reference's, in the same order, and a maximum does not depend on how it is
// split, so fast and reference outputs are bit-identical.
//
// Passes over memory: a per-tensor quantizer reads its input twice (the abs-max reduction, then
// clip-quantize-dequantize writing the output) inside ONE parallel region: each thread reduces its
// own chunk, one barrier, the master thread turns the maximum into the scale (state update, cross
// rank all-reduce), a second barrier, and each thread quantizes the same chunk it just read, still
// in its core's cache. A per-channel weight quantizer takes each channel's block once: abs-max and
// quantize-dequantize back to back while the block sits in L1.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "quant/ops/fake_quant/fake_quant.h"

namespace qf {
namespace {

// Elements below which a pass runs on one thread: below about 512 KB the pass takes tens of
// microseconds, and an OpenMP region with its barriers costs a few (more when another job holds a
// core: a barrier then waits for a scheduler slice). Above it, the quantizer would leave all cores
// but one idle between the multi-threaded convolutions.
constexpr int64_t kParallelMin = int64_t{1} << 17;

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

// The element formula of fake_qdq, 16 lanes at a time with AVX-512 (the same IEEE operations in
// the same order, so the results are bit-identical to the scalar reference).
void qdq_range(const float* x, float* y, int64_t n, float s, float k, float bnt) {
  int64_t i = 0;
#if defined(__AVX512F__)
  const __m512 vs = _mm512_set1_ps(s), vns = _mm512_set1_ps(-s), vk = _mm512_set1_ps(k);
  const __m512 vb = _mm512_set1_ps(bnt), half = _mm512_set1_ps(0.5f), nhalf = _mm512_set1_ps(-0.5f);
  const __m512 one = _mm512_set1_ps(1.f);
  for (; i + 16 <= n; i += 16) {
    const __m512 c = _mm512_min_ps(_mm512_max_ps(_mm512_loadu_ps(x + i), vns), vs);
    const __m512 v = _mm512_mul_ps(vk, c);
    __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(v, t);
    t = _mm512_mask_add_ps(t, _mm512_cmp_ps_mask(f, half, _CMP_GE_OQ), t, one);
    t = _mm512_mask_sub_ps(t, _mm512_cmp_ps_mask(f, nhalf, _CMP_LE_OQ), t, one);
    _mm512_storeu_ps(y + i, _mm512_div_ps(_mm512_mul_ps(t, vs), vb));
  }
#endif
  for (; i < n; ++i) y[i] = fake_qdq(x[i], s, k, bnt);
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

float abs_max_then_qdq_fast(const float* x, float* y, int64_t n, int64_t bnt,
                            const ScaleOfMax& scale_of) {
  const float fb = static_cast<float>(bnt);
  if (n < kParallelMin) {
    const float s = scale_of(abs_max_range(x, 0, n));
    qdq_range(x, y, n, s, fb * inverse_threshold(s), fb);
    return s;
  }
  constexpr int kMaxThreads = 64;
  const int threads = std::min(omp_get_max_threads(), kMaxThreads);
  float part[kMaxThreads];
  float s = 0.f;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t chunk = (n + nt - 1) / nt;
    const int64_t b = std::min<int64_t>(n, t * chunk), e = std::min<int64_t>(n, b + chunk);
    part[t] = abs_max_range(x, b, e);
#pragma omp barrier
#pragma omp master
    {  // the master thread: scale_of may all-reduce across ranks
      float m = 0.f;
      for (int i = 0; i < nt; ++i) m = std::max(m, part[i]);
      s = scale_of(m);
    }
#pragma omp barrier
    qdq_range(x + b, y + b, e - b, s, fb * inverse_threshold(s), fb);
  }
  return s;
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

void channel_abs_max_qdq_fast(const float* x, float* y, const ChannelGeom& g, float* scales,
                              int64_t bnt) {
  if (g.outer != 1) {  // axis 1 (linear weights): a channel is strided, take two passes
    channel_abs_max_fast(x, g, scales);
    channel_fake_qdq_fast(x, y, g, scales, bnt);
    return;
  }
  const int64_t C = g.channels, inner = g.inner;
  const float fb = static_cast<float>(bnt);
#pragma omp parallel for schedule(static) if (C * inner >= kParallelMin && C > 1)
  for (int64_t c = 0; c < C; ++c) {
    const float* xc = x + c * inner;
    const float s = abs_max_range(xc, 0, inner);
    scales[c] = s;
    qdq_range(xc, y + c * inner, inner, s, fb * inverse_threshold(s), fb);
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
