// qforge_sgemm_peak: oneDNN's single-precision GEMM throughput on this machine, the ceiling the
// float convolutions are compared against (bench/RESULTS.md, issue 20: GFLOP/s reached at 224x224
// against sgemm's peak). Square and convolution-like shapes, median of 15 runs each; then the
// machine's own ceiling: fused multiply-adds on registers only, nothing loaded (no GEMM, in any
// engine, can exceed it).
//
//   qforge_sgemm_peak [--threads 2]
#include <dnnl.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

// GFLOP/s of independent FMA chains on every thread (best of 5): 12 accumulators, enough to
// cover the FMA latency on two pipes. Returns 0 where the CPU has no AVX-512 or AVX2 FMA.
double fma_peak() {
#if defined(__AVX512F__)
  using V = __m512;
  constexpr int lanes = 16;
  auto fma = [](V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); };
  auto set = [](float x) { return _mm512_set1_ps(x); };
  auto sum = [](V a) { return _mm512_reduce_add_ps(a); };
#elif defined(__AVX2__) && defined(__FMA__)
  using V = __m256;
  constexpr int lanes = 8;
  auto fma = [](V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); };
  auto set = [](float x) { return _mm256_set1_ps(x); };
  auto sum = [](V a) {
    float f[8];
    _mm256_storeu_ps(f, a);
    return f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7];
  };
#else
  return 0;
#endif
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
  constexpr long iters = 20000000;
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    float sink = 0;
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel reduction(+ : sink)
    {
      const V b = set(0.999f), c = set(1e-4f);
      V a0 = set(0), a1 = set(1), a2 = set(2), a3 = set(3), a4 = set(4), a5 = set(5);
      V a6 = set(6), a7 = set(7), a8 = set(8), a9 = set(9), a10 = set(10), a11 = set(11);
      for (long i = 0; i < iters; ++i) {
        a0 = fma(a0, b, c), a1 = fma(a1, b, c), a2 = fma(a2, b, c), a3 = fma(a3, b, c);
        a4 = fma(a4, b, c), a5 = fma(a5, b, c), a6 = fma(a6, b, c), a7 = fma(a7, b, c);
        a8 = fma(a8, b, c), a9 = fma(a9, b, c), a10 = fma(a10, b, c), a11 = fma(a11, b, c);
      }
      sink += sum(a0) + sum(a1) + sum(a2) + sum(a3) + sum(a4) + sum(a5) + sum(a6) + sum(a7) +
              sum(a8) + sum(a9) + sum(a10) + sum(a11);
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (sink == 42.f) std::printf(" ");  // keeps the chains from being optimised away
    best = std::max(best, 2.0 * lanes * 12 * iters * omp_get_max_threads() / s / 1e9);
  }
  return best;
#endif
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "qforge_sgemm_peak: unknown option '%s' (allowed: --threads N)\n", argv[i]);
      return 2;
    }
  }
  if (threads < 1) {
    std::fprintf(stderr, "qforge_sgemm_peak: --threads must be at least 1\n");
    return 2;
  }
  omp_set_num_threads(threads);
  const int shapes[][3] = {{2048, 2048, 2048}, {1024, 1024, 1024}, {3136, 256, 64},
                           {784, 512, 128},    {196, 1024, 256},   {49, 2048, 512}};
  std::printf("oneDNN sgemm, %d threads, median of 15 runs\n", threads);
  double peak = 0;
  for (const auto& s : shapes) {
    const int M = s[0], N = s[1], K = s[2];
    std::vector<float> a(size_t(M) * K, 0.5f), b(size_t(K) * N, 0.25f), c(size_t(M) * N);
    std::vector<double> t;
    for (int i = 0; i < 15; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      dnnl_sgemm('N', 'N', M, N, K, 1.f, a.data(), K, b.data(), N, 0.f, c.data(), N);
      t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    const double gflops = 2.0 * M * N * K / t[t.size() / 2] / 1e9;
    peak = std::max(peak, gflops);
    std::printf("  M %5d N %5d K %5d: %6.0f GFLOP/s\n", M, N, K, gflops);
  }
  std::printf("peak: %.0f GFLOP/s\n", peak);
  const double fma = fma_peak();
  if (fma > 0)
    std::printf("FMA ceiling (registers only, best of 5): %.0f GFLOP/s; sgemm reaches %.0f %%\n", fma,
                100 * peak / fma);
  else
    std::printf("FMA ceiling: not measured (no AVX-512 or AVX2 FMA in this build)\n");
  return 0;
}
