// Fused bilinear resample + flip + BGR->RGB + normalization. Contract and formula:
// image_resample.h.
//
// Fast kernel, per sample: a table of 3 n entries (one per output element of a row, in output
// order, so flip and the channel swap cost nothing later): the byte offset of the left tap in a
// source row and the two weights with 1 / std folded in. Then per output row y: the horizontal
// passes of source rows y0 and y0 + 1 (each computed once and kept in one of two row buffers, as
// y0 never decreases), blended with the row's vertical weights and the bias.
//
// Horizontal pass with AVX-512, 16 output elements at a time. Their taps lie in a short window of
// the source row unless the image is shrunk a lot (16 outputs span about 16 / 3 * shrink + 2
// pixels): when every window fits in 64 bytes (shrink factor below about 3.5) one masked 64-byte
// load and one byte permutation (VBMI vpermb) put the left tap of each output in byte 0 and the
// right tap in byte 2 of its 32-bit lane (measured on Zen 5: 3x faster than gathers). Otherwise
// one 32-bit gather at the left tap's byte offset fetches both taps, at bytes 0 and 3 (pixels are
// 3 bytes apart). Both read the bytes up to the right tap only, so the table never points the left
// tap at the last column (there x0 = last and fx = 0 become x0 = last - 1 with weights 0 and 1:
// the same value). A 1-pixel-wide source takes the plain loop.
#include "data/image_resample.h"

#include <algorithm>
#include <cmath>

#include "nn/error.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

// The all-lanes masked forms of AVX-512 conversions and shifts below are the plain instructions;
// GCC 12's headers make the unmasked ones warn (-Wmaybe-uninitialized on _mm512_undefined_*).

namespace qf {

namespace {

// One axis of OpenCV's INTER_LINEAR mapping: resized coordinate -> (first tap, weight of the next).
struct Tap {
  int i0 = 0;
  float f = 0.f;
};

Tap linear_tap(int resized, double scale, int src_len) {
  const float s = static_cast<float>((resized + 0.5) * scale - 0.5);
  int i0 = static_cast<int>(std::floor(s));
  float f = s - static_cast<float>(i0);
  if (i0 < 0) i0 = 0, f = 0.f;
  if (i0 >= src_len - 1) i0 = src_len - 1, f = 0.f;
  return {i0, f};
}

double inverse_scale(int src_len, int resized_len) {
  return 1.0 / (static_cast<double>(resized_len) / src_len);
}

void check_spec(const ImageView& im, const ResampleSpec& s) {
  const CropBox& b = s.src;
  QF_CHECK(b.width >= 1 && b.height >= 1 && b.left >= 0 && b.top >= 0 &&
               b.left + b.width <= im.width && b.top + b.height <= im.height,
           "resample source box outside the ", im.width, "x", im.height, " image");
  QF_CHECK(s.size >= 1 && s.left >= 0 && s.top >= 0 && s.left + s.size <= s.resized_width &&
               s.top + s.size <= s.resized_height,
           "resample window outside the ", s.resized_width, "x", s.resized_height, " image");
}

// Output column x (0..n-1) -> resized column.
int resized_col(const ResampleSpec& s, int x) {
  return s.left + (s.flip ? s.size - 1 - x : x);
}

void resample_ref(const ImageView& im, const ResampleSpec& s, ChannelAffine a, float* out) {
  const int n = s.size;
  const double sx = inverse_scale(s.src.width, s.resized_width);
  const double sy = inverse_scale(s.src.height, s.resized_height);
  for (int y = 0; y < n; ++y) {
    const Tap ty = linear_tap(s.top + y, sy, s.src.height);
    const int y1 = ty.i0 + (ty.f > 0.f ? 1 : 0);
    const uint8_t* r0 = im.data + (s.src.top + ty.i0) * im.stride;
    const uint8_t* r1 = im.data + (s.src.top + y1) * im.stride;
    for (int x = 0; x < n; ++x) {
      const Tap tx = linear_tap(resized_col(s, x), sx, s.src.width);
      const int x1 = tx.i0 + (tx.f > 0.f ? 1 : 0);
      for (int c = 0; c < 3; ++c) {
        const int k = 3 * x + c;
        const float w0 = (1.f - tx.f) * a.scale[k], w1 = tx.f * a.scale[k];
        const int b0 = 3 * (s.src.left + tx.i0) + 2 - c, b1 = 3 * (s.src.left + x1) + 2 - c;
        const float h0 = std::fma(static_cast<float>(r0[b0]), w0, static_cast<float>(r0[b1]) * w1);
        const float h1 = std::fma(static_cast<float>(r1[b0]), w0, static_cast<float>(r1[b1]) * w1);
        out[(static_cast<int64_t>(y) * n + x) * 3 + c] =
            std::fma(h0, 1.f - ty.f, std::fma(h1, ty.f, a.bias[k]));
      }
    }
  }
}

#if defined(__AVX512VBMI__) && defined(__AVX512BW__)
constexpr bool kHaveVbmi = true;
#else
constexpr bool kHaveVbmi = false;
#endif

// Fills the per-chunk window tables; false when some chunk's taps span more than 64 bytes.
bool build_chunks(ResampleScratch& sc, int len) {
  const int chunks = (len + 15) / 16;
  sc.chunk_base.resize(static_cast<size_t>(chunks));
  sc.chunk_mask.resize(static_cast<size_t>(chunks));
  sc.chunk_perm.assign(static_cast<size_t>(chunks) * 64, 0);
  for (int j = 0; j < chunks; ++j) {
    const int k0 = 16 * j, k1 = std::min(len, k0 + 16);
    int lo = sc.col_index[static_cast<size_t>(k0)], hi = lo;
    for (int k = k0; k < k1; ++k) {
      lo = std::min(lo, sc.col_index[static_cast<size_t>(k)]);
      hi = std::max(hi, sc.col_index[static_cast<size_t>(k)]);
    }
    const int span = hi + 3 - lo + 1;
    if (span > 64) return false;
    sc.chunk_base[static_cast<size_t>(j)] = lo;
    sc.chunk_mask[static_cast<size_t>(j)] = span == 64 ? ~uint64_t{0} : (uint64_t{1} << span) - 1;
    uint8_t* perm = &sc.chunk_perm[static_cast<size_t>(j) * 64];
    for (int k = k0; k < k1; ++k) {
      const int off = sc.col_index[static_cast<size_t>(k)] - lo;
      perm[4 * (k - k0)] = static_cast<uint8_t>(off);
      perm[4 * (k - k0) + 2] = static_cast<uint8_t>(off + 3);
    }
  }
  return true;
}

#if defined(__AVX512F__)
// The first min(16, remaining) lanes.
inline __mmask16 tail_mask(int remaining) {
  return remaining >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << remaining) - 1);
}

// h[k + i] = left_i * w0[k + i] + right_i * w1[k + i] for the lanes in m, where each 32-bit lane
// of d holds the left tap's byte at bit 0 and the right tap's byte at bit RightShift.
template <int RightShift>
inline void blend_taps(__m512i d, const float* w0, const float* w1, float* h, int k, __mmask16 m) {
  // The zero-masked forms: GCC 12 warns of uninitialised pass-through operands in the plain ones.
  const __m512i left_byte = _mm512_and_si512(d, _mm512_set1_epi32(0xff));
  const __m512i right_byte = _mm512_maskz_srli_epi32(0xffff, d, RightShift);
  const __m512 left = _mm512_maskz_cvtepi32_ps(0xffff, left_byte);
  const __m512 right = _mm512_maskz_cvtepi32_ps(0xffff, right_byte);
  const __m512 v = _mm512_fmadd_ps(left, _mm512_maskz_loadu_ps(m, w0 + k),
                                   _mm512_mul_ps(right, _mm512_maskz_loadu_ps(m, w1 + k)));
  _mm512_mask_storeu_ps(h + k, m, v);
}
#endif

// h[k] = S[idx[k]] * w0[k] + S[idx[k] + tap] * w1[k] for k < len.
void horizontal_pass(const uint8_t* row, const ResampleScratch& sc, bool windows, int tap, float* h,
                     int len) {
  const int32_t* idx = sc.col_index.data();
  const float* w0 = sc.col_w0.data();
  const float* w1 = sc.col_w1.data();
  int k = 0;
#if defined(__AVX512VBMI__) && defined(__AVX512BW__)
  if (windows) {
    for (int j = 0; k < len; k += 16, ++j) {
      const __m512i window = _mm512_maskz_loadu_epi8(sc.chunk_mask[static_cast<size_t>(j)],
                                                     row + sc.chunk_base[static_cast<size_t>(j)]);
      const __m512i perm = _mm512_loadu_si512(&sc.chunk_perm[static_cast<size_t>(j) * 64]);
      // Bytes 0 and 2 of each lane: the left and right taps; the other bytes zero.
      const __m512i d = _mm512_maskz_permutexvar_epi8(0x5555555555555555ull, perm, window);
      blend_taps<16>(d, w0, w1, h, k, tail_mask(len - k));
    }
    return;
  }
#endif
  (void)windows;
#if defined(__AVX512F__)
  if (tap == 3) {
    for (; k < len; k += 16) {
      const __mmask16 m = tail_mask(len - k);
      const __m512i i = _mm512_maskz_loadu_epi32(m, idx + k);
      // 4 bytes from each tap position: the left tap at byte 0, the right (3 further) at byte 3.
      const __m512i d = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, i, row, 1);
      blend_taps<24>(d, w0, w1, h, k, m);
    }
    return;
  }
#endif
  for (; k < len; ++k)
    h[k] = std::fma(static_cast<float>(row[idx[k]]), w0[k],
                    static_cast<float>(row[idx[k] + tap]) * w1[k]);
}

// out[k] = h0[k] * v0 + (h1[k] * v1 + bias[k]) for k < len.
void vertical_pass(const float* h0, const float* h1, float v0, float v1, const float* bias,
                   float* out, int len) {
  int k = 0;
#if defined(__AVX512F__)
  const __m512 a = _mm512_set1_ps(v0), b = _mm512_set1_ps(v1);
  for (; k + 16 <= len; k += 16)
    _mm512_storeu_ps(out + k, _mm512_fmadd_ps(_mm512_loadu_ps(h0 + k), a,
                                              _mm512_fmadd_ps(_mm512_loadu_ps(h1 + k), b,
                                                              _mm512_loadu_ps(bias + k))));
#endif
  for (; k < len; ++k) out[k] = std::fma(h0[k], v0, std::fma(h1[k], v1, bias[k]));
}

void resample_fast(const ImageView& im, const ResampleSpec& s, ChannelAffine a, float* out,
                   ResampleScratch& sc) {
  const int n = s.size, len = 3 * n;
  const auto ulen = static_cast<size_t>(len);
  if (sc.col_index.size() < ulen) {
    sc.col_index.resize(ulen);
    sc.col_w0.resize(ulen);
    sc.col_w1.resize(ulen);
    sc.rows.resize(2 * ulen);
  }
  const int tap = s.src.width >= 2 ? 3 : 0;
  const double sx = inverse_scale(s.src.width, s.resized_width);
  for (int x = 0; x < n; ++x) {
    Tap t = linear_tap(resized_col(s, x), sx, s.src.width);
    float w0 = 1.f - t.f, w1 = t.f;
    if (tap == 3 && t.i0 == s.src.width - 1) t.i0 -= 1, w0 = 0.f, w1 = 1.f;  // see the top
    for (int c = 0; c < 3; ++c) {
      const int k = 3 * x + c;
      sc.col_index[static_cast<size_t>(k)] = 3 * (s.src.left + t.i0) + 2 - c;
      sc.col_w0[static_cast<size_t>(k)] = w0 * a.scale[k];
      sc.col_w1[static_cast<size_t>(k)] = w1 * a.scale[k];
    }
  }
  const bool windows = kHaveVbmi && tap == 3 && build_chunks(sc, len);
  // Two row buffers, each holding the horizontal pass of one source row (-1: none yet).
  float* buf[2] = {sc.rows.data(), sc.rows.data() + ulen};
  int held[2] = {-1, -1};
  auto row = [&](int r, int keep) -> const float* {
    for (int b = 0; b < 2; ++b)
      if (held[b] == r) return buf[b];
    const int b = held[0] == keep ? 1 : 0;
    horizontal_pass(im.data + (s.src.top + r) * im.stride, sc, windows, tap, buf[b], len);
    held[b] = r;
    return buf[b];
  };
  const double sy = inverse_scale(s.src.height, s.resized_height);
  for (int y = 0; y < n; ++y) {
    const Tap t = linear_tap(s.top + y, sy, s.src.height);
    const float* h0 = row(t.i0, -1);
    const float* h1 = t.f > 0.f ? row(t.i0 + 1, t.i0) : h0;
    vertical_pass(h0, h1, 1.f - t.f, t.f, a.bias, out + static_cast<int64_t>(y) * len, len);
  }
}

}  // namespace

void resample_normalize(const ImageView& image, const ResampleSpec& spec, ChannelAffine affine,
                        float* out, ResampleScratch& scratch, ResampleKernel kernel) {
  check_spec(image, spec);
  if (kernel == ResampleKernel::ref)
    resample_ref(image, spec, affine, out);
  else
    resample_fast(image, spec, affine, out, scratch);
}

}  // namespace qf
