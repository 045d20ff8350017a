// Fake-quant kernels beside device-to-device copy bandwidth on one GPU (issue 7's target: at least
// 80% of the measured copy bandwidth on a 64M-element tensor, per tensor and per channel).
//
// For a float32 tensor of --elements values (default 64M = 256 MiB) it times, with CUDA events,
// median of --reps runs after warm-up, on random normal data:
//   copy         cudaMemcpyAsync device to device              bytes: read n + write n
//   per-tensor   abs_max + fake_quant_dequant (two launches)   minimal bytes: read n + write n;
//                                                              moved: read 2n + write n
//   per-channel  channel_fake_quant_dequant, one launch, as (channels, n / channels) weights
//                                                              minimal bytes: read n + write n
// and prints GB/s (1e9 bytes/s) over the minimal bytes — the figure comparable with the copy — and
// over the bytes the kernels actually move, each as a share of the copy's. Every result is checked
// against a host computation of the same formulas (nn/kernels/cuda/fake_quant.cu) before timing.
//
//   qforge_cuda_fake_quant_bench [--elements N] [--reps N] [--bits 8]
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "nn/context.h"
#include "nn/kernels/cuda/cuda_check.h"
#include "nn/kernels/cuda/launch.h"

namespace {

using qf::cuda::abs_max;
using qf::cuda::channel_fake_quant_dequant;
using qf::cuda::fake_quant_dequant;

float host_qdq(float x, float t, int bits, int round_type) {
  const float bnt = static_cast<float>((1 << (bits - 1)) - 1);
  const float inv = t <= 1e-30f ? 1.f / (t + 1e-6f) : 1.f / t;
  const float k = bnt * inv;
  if (round_type == 0) {
    float q = std::nearbyint(k * x);
    q = std::min(std::max(q, -bnt - 1.f), bnt);
    return q * t / bnt;
  }
  const float v = std::min(std::max(x, -t), t);
  return std::round(k * v) * t / bnt;
}

template <class F>
double median_ms(cudaStream_t s, int reps, F&& f) {
  cudaEvent_t a, b;
  QF_CUDA_CHECK(cudaEventCreate(&a));
  QF_CUDA_CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    QF_CUDA_CHECK(cudaEventRecord(a, s));
    f();
    QF_CUDA_CHECK(cudaEventRecord(b, s));
    QF_CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    QF_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Largest |gpu - host| / (1 + |host|) (the kernels and the host use the same float formulas; the
// only difference is fused multiply-adds, so this stays at rounding level).
double check(const std::vector<float>& gpu, const std::vector<float>& host) {
  double m = 0;
  for (size_t i = 0; i < gpu.size(); ++i) {
    const double d = std::fabs(double(gpu[i]) - host[i]) / (1 + std::fabs(host[i]));
    if (!(d <= m)) m = std::isnan(d) ? INFINITY : d;
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = int64_t{64} << 20;
  int reps = 30, bits = 8;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string("0"); };
    if (a == "--elements")
      n = std::stoll(next());
    else if (a == "--reps")
      reps = std::stoi(next());
    else if (a == "--bits")
      bits = std::stoi(next());
    else {
      std::fprintf(stderr, "usage: %s [--elements N] [--reps N] [--bits B]\n", argv[0]);
      return 2;
    }
  }
  if (!qf::cuda_available()) {
    std::fprintf(stderr, "%s\n", qf::cuda_status().c_str());
    return 1;
  }
  std::printf("GPU: %s\n", qf::cuda_status().c_str());
  cudaStream_t s;
  QF_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  float *x, *y, *scale;
  QF_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&x), bytes));
  QF_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&y), bytes));
  QF_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&scale), sizeof(float) * (1 << 16)));
  std::vector<float> hx(n), hy(n);
  std::mt19937 gen(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (auto& v : hx) v = nd(gen);
  QF_CUDA_CHECK(cudaMemcpy(x, hx.data(), bytes, cudaMemcpyHostToDevice));

  // Correctness first: per tensor (both rounding modes) and per channel.
  const float t_host = [&] {
    float m = 0;
    for (float v : hx) m = std::max(m, std::fabs(v));
    return m;
  }();
  std::vector<float> want(n);
  for (int rt : {1, 0}) {
    abs_max(x, n, scale, s);
    fake_quant_dequant(x, y, n, scale, bits, rt, s);
    float t = 0;
    QF_CUDA_CHECK(cudaMemcpyAsync(&t, scale, sizeof t, cudaMemcpyDeviceToHost, s));
    QF_CUDA_CHECK(cudaMemcpyAsync(hy.data(), y, bytes, cudaMemcpyDeviceToHost, s));
    QF_CUDA_CHECK(cudaStreamSynchronize(s));
    for (int64_t i = 0; i < n; ++i) want[i] = host_qdq(hx[i], t_host, bits, rt);
    std::printf("check per-tensor round_type %d: scale %g (host %g), max rel diff %.2e\n", rt, t,
                t_host, check(hy, want));
  }
  const std::vector<int64_t> channel_counts = {64, 1024, 16384};
  for (int64_t ch : channel_counts) {
    const int64_t inner = n / ch;
    channel_fake_quant_dequant(x, y, 1, ch, inner, scale, bits, 1, s);
    QF_CUDA_CHECK(cudaMemcpyAsync(hy.data(), y, bytes, cudaMemcpyDeviceToHost, s));
    QF_CUDA_CHECK(cudaStreamSynchronize(s));
    for (int64_t c = 0; c < ch; ++c) {
      float m = 0;
      for (int64_t i = 0; i < inner; ++i) m = std::max(m, std::fabs(hx[c * inner + i]));
      for (int64_t i = 0; i < inner; ++i)
        want[c * inner + i] = host_qdq(hx[c * inner + i], m, bits, 1);
    }
    std::printf("check per-channel (%lld channels): max rel diff %.2e\n",
                static_cast<long long>(ch), check(hy, want));
  }

  // Timing.
  const double gb = 1e-9 * static_cast<double>(bytes);
  const double copy_ms = median_ms(
      s, reps, [&] { QF_CUDA_CHECK(cudaMemcpyAsync(y, x, bytes, cudaMemcpyDeviceToDevice, s)); });
  const double copy_bw = 2 * gb / (copy_ms * 1e-3);
  std::printf("\n%lld float32 elements (%.0f MiB), median of %d runs, %d-bit\n",
              static_cast<long long>(n), bytes / 1048576.0, reps, bits);
  std::printf("%-34s %9s %12s %8s %12s %8s\n", "kernel", "ms", "GB/s (min)", "vs copy",
              "GB/s (moved)", "vs copy");
  auto row = [&](const char* name, double ms, double min_bytes_gb, double moved_gb) {
    const double bw = min_bytes_gb / (ms * 1e-3), mv = moved_gb / (ms * 1e-3);
    std::printf("%-34s %9.3f %12.1f %7.1f%% %12.1f %7.1f%%\n", name, ms, bw, 100 * bw / copy_bw, mv,
                100 * mv / copy_bw);
  };
  row("device-to-device copy", copy_ms, 2 * gb, 2 * gb);
  for (int rt : {1, 0}) {
    const double ms = median_ms(s, reps, [&] {
      abs_max(x, n, scale, s);
      fake_quant_dequant(x, y, n, scale, bits, rt, s);
    });
    row(rt == 1 ? "per-tensor (ties away)" : "per-tensor (ties to even)", ms, 2 * gb, 3 * gb);
  }
  for (int64_t ch : channel_counts) {
    const double ms = median_ms(
        s, reps, [&] { channel_fake_quant_dequant(x, y, 1, ch, n / ch, scale, bits, 1, s); });
    const std::string name = "per-channel, " + std::to_string(ch) + " channels";
    row(name.c_str(), ms, 2 * gb, 2 * gb);
  }
  std::printf("target: >= 80%% of the copy's GB/s (min bytes), per tensor and per channel\n");
  cudaFree(x);
  cudaFree(y);
  cudaFree(scale);
  cudaStreamDestroy(s);
  return 0;
}
