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
// against a host computation of the same formulas (quant/ops/fake_quant/fake_quant_math.h) before
// timing.
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
#include "quant/ops/fake_quant/fake_quant_cuda.h"
#include "quant/ops/fake_quant/fake_quant_math.h"

namespace {

using qf::cuda::abs_max;
using qf::cuda::channel_fake_quant_dequant;
using qf::cuda::fake_quant_dequant;

// The host computation of the kernels' formulas: the very functions they run (fake_quant_math.h).
float host_qdq(float x, float t, int bits, int round_type) {
  const float bnt = static_cast<float>(qf::quant_bin_count(bits));
  const float k = bnt * qf::inverse_threshold(t);
  return round_type == 0 ? qf::fake_qdq_round_even(x, t, k, bnt) : qf::fake_qdq(x, t, k, bnt);
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

// Largest |gpu - host| / (1 + |host|) (the kernels and the host run the same functions, so this
// should print 0).
double check(const std::vector<float>& gpu, const std::vector<float>& host) {
  double m = 0;
  for (size_t i = 0; i < gpu.size(); ++i) {
    const double d = std::fabs(double(gpu[i]) - host[i]) / (1 + std::fabs(host[i]));
    if (!(d <= m)) m = std::isnan(d) ? INFINITY : d;
  }
  return m;
}

struct Options {
  int64_t n = int64_t{64} << 20;
  int reps = 30, bits = 8;
};

// Device buffers of one run: x (random normal), y, and room for up to 65536 scales.
struct Buffers {
  float *x = nullptr, *y = nullptr, *scale = nullptr;
  std::vector<float> hx, hy;
  size_t bytes = 0;
};

const std::vector<int64_t> kChannelCounts = {64, 1024, 16384};

// Every kernel's result against the host computation (printed as the largest relative difference).
void check_kernels(const Options& o, Buffers& b, cudaStream_t s) {
  const int64_t n = o.n;
  const float t_host = [&] {
    float m = 0;
    for (float v : b.hx) m = std::max(m, std::fabs(v));
    return m;
  }();
  std::vector<float> want(n);
  for (int rt : {1, 0}) {
    abs_max(b.x, n, b.scale, s);
    fake_quant_dequant(b.x, b.y, n, b.scale, o.bits, rt, s);
    float t = 0;
    QF_CUDA_CHECK(cudaMemcpyAsync(&t, b.scale, sizeof t, cudaMemcpyDeviceToHost, s));
    QF_CUDA_CHECK(cudaMemcpyAsync(b.hy.data(), b.y, b.bytes, cudaMemcpyDeviceToHost, s));
    QF_CUDA_CHECK(cudaStreamSynchronize(s));
    for (int64_t i = 0; i < n; ++i) want[i] = host_qdq(b.hx[i], t_host, o.bits, rt);
    std::printf("check per-tensor round_type %d: scale %g (host %g), max rel diff %.2e\n", rt, t,
                t_host, check(b.hy, want));
  }
  for (int64_t ch : kChannelCounts) {
    const int64_t inner = n / ch;
    channel_fake_quant_dequant(b.x, b.y, 1, ch, inner, b.scale, o.bits, 1, s);
    QF_CUDA_CHECK(cudaMemcpyAsync(b.hy.data(), b.y, b.bytes, cudaMemcpyDeviceToHost, s));
    QF_CUDA_CHECK(cudaStreamSynchronize(s));
    for (int64_t c = 0; c < ch; ++c) {
      float m = 0;
      for (int64_t i = 0; i < inner; ++i) m = std::max(m, std::fabs(b.hx[c * inner + i]));
      for (int64_t i = 0; i < inner; ++i)
        want[c * inner + i] = host_qdq(b.hx[c * inner + i], m, o.bits, 1);
    }
    std::printf("check per-channel (%lld channels): max rel diff %.2e\n",
                static_cast<long long>(ch), check(b.hy, want));
  }
}

void time_kernels(const Options& o, const Buffers& b, cudaStream_t s) {
  const int64_t n = o.n;
  const double gb = 1e-9 * static_cast<double>(b.bytes);
  const double copy_ms = median_ms(s, o.reps, [&] {
    QF_CUDA_CHECK(cudaMemcpyAsync(b.y, b.x, b.bytes, cudaMemcpyDeviceToDevice, s));
  });
  const double copy_bw = 2 * gb / (copy_ms * 1e-3);
  std::printf("\n%lld float32 elements (%.0f MiB), median of %d runs, %d-bit\n",
              static_cast<long long>(n), b.bytes / 1048576.0, o.reps, o.bits);
  std::printf("%-34s %9s %12s %8s %12s %8s\n", "kernel", "ms", "GB/s (min)", "vs copy",
              "GB/s (moved)", "vs copy");
  auto row = [&](const char* name, double ms, double min_bytes_gb, double moved_gb) {
    const double bw = min_bytes_gb / (ms * 1e-3), mv = moved_gb / (ms * 1e-3);
    std::printf("%-34s %9.3f %12.1f %7.1f%% %12.1f %7.1f%%\n", name, ms, bw, 100 * bw / copy_bw, mv,
                100 * mv / copy_bw);
  };
  row("device-to-device copy", copy_ms, 2 * gb, 2 * gb);
  for (int rt : {1, 0}) {
    const double ms = median_ms(s, o.reps, [&] {
      abs_max(b.x, n, b.scale, s);
      fake_quant_dequant(b.x, b.y, n, b.scale, o.bits, rt, s);
    });
    row(rt == 1 ? "per-tensor (ties away)" : "per-tensor (ties to even)", ms, 2 * gb, 3 * gb);
  }
  for (int64_t ch : kChannelCounts) {
    const double ms = median_ms(s, o.reps, [&] {
      channel_fake_quant_dequant(b.x, b.y, 1, ch, n / ch, b.scale, o.bits, 1, s);
    });
    const std::string name = "per-channel, " + std::to_string(ch) + " channels";
    row(name.c_str(), ms, 2 * gb, 2 * gb);
  }
  std::printf("target: >= 80%% of the copy's GB/s (min bytes), per tensor and per channel\n");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string("0"); };
    if (a == "--elements")
      o.n = std::stoll(next());
    else if (a == "--reps")
      o.reps = std::stoi(next());
    else if (a == "--bits")
      o.bits = std::stoi(next());
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
  Buffers b;
  b.bytes = static_cast<size_t>(o.n) * sizeof(float);
  QF_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&b.x), b.bytes));
  QF_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&b.y), b.bytes));
  QF_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&b.scale), sizeof(float) * (1 << 16)));
  b.hx.resize(o.n);
  b.hy.resize(o.n);
  std::mt19937 gen(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (auto& v : b.hx) v = nd(gen);
  QF_CUDA_CHECK(cudaMemcpy(b.x, b.hx.data(), b.bytes, cudaMemcpyHostToDevice));
  check_kernels(o, b, s);  // correctness first: per tensor (both rounding modes) and per channel
  time_kernels(o, b, s);
  cudaFree(b.x);
  cudaFree(b.y);
  cudaFree(b.scale);
  cudaStreamDestroy(s);
  return 0;
}
