// qforge_sgemm_peak: oneDNN's single-precision GEMM throughput on this machine, the ceiling the
// float convolutions are compared against (bench/RESULTS.md, issue 20: GFLOP/s reached at 224x224
// against sgemm's peak). Square and convolution-like shapes, median of 15 runs each.
//
//   qforge_sgemm_peak [--threads 2]
#include <dnnl.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

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
  return 0;
}
