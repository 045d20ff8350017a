// batch_norm's CUDA kernels (math: nn/ops/batch_norm/batch_norm.h): per-channel statistics by the
// deterministic two-stage reductions of nn/kernels/cuda/column_reduce.cuh, then one elementwise
// pass.
#include <cmath>

#include "nn/kernels/cuda/column_reduce.cuh"
#include "nn/ops/batch_norm/batch_norm_cuda.h"

namespace qf::cuda {
namespace {

// Welford state: count, mean, sum of squared deviations.
struct Moments {
  float n, mean, m2;
};
__device__ inline Moments merge(const Moments& a, const Moments& b) {
  const float n = a.n + b.n;
  if (n == 0.f) return {0.f, 0.f, 0.f};
  const float d = b.mean - a.mean;
  return {n, a.mean + d * (b.n / n), a.m2 + b.m2 + d * d * (a.n * b.n / n)};
}

__global__ void moments_stage1(const float* __restrict__ x, int64_t M, int C,
                               float* __restrict__ partial) {
  __shared__ Moments sh[kLanes][kTile + 1];
  const int c = blockIdx.x * kTile + threadIdx.x;
  const Rows r = chunk_rows(M);
  Moments m{0.f, 0.f, 0.f};
  if (c < C)
    for (int64_t i = r.begin + threadIdx.y; i < r.end; i += kLanes) {
      const float v = x[i * C + c];
      m.n += 1.f;
      const float d = v - m.mean;
      m.mean += d / m.n;
      m.m2 += d * (v - m.mean);
    }
  sh[threadIdx.y][threadIdx.x] = m;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    Moments t = sh[0][threadIdx.x];
    for (int l = 1; l < kLanes; ++l) t = merge(t, sh[l][threadIdx.x]);
    float* p = partial + (static_cast<int64_t>(blockIdx.y) * C + c) * 3;
    p[0] = t.n;
    p[1] = t.mean;
    p[2] = t.m2;
  }
}

__global__ void stats_stage2(const float* __restrict__ partial, int chunks, int64_t M, int C,
                             const float* __restrict__ gamma, float* __restrict__ rmean,
                             float* __restrict__ rvar, float momentum, float eps,
                             float* __restrict__ mean, float* __restrict__ istd,
                             float* __restrict__ scale) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  // Merged in double: counts reach M, beyond float's exact integers for large batches.
  double n = 0, mu = 0, m2 = 0;
  for (int k = 0; k < chunks; ++k) {
    const float* p = partial + (static_cast<int64_t>(k) * C + c) * 3;
    const double nb = p[0];
    if (nb == 0) continue;
    const double tot = n + nb, d = p[1] - mu;
    mu += d * nb / tot;
    m2 += p[2] + d * d * n * nb / tot;
    n = tot;
  }
  const double var = m2 / static_cast<double>(M);
  const float is = 1.f / sqrtf(static_cast<float>(var) + eps);
  mean[c] = static_cast<float>(mu);
  istd[c] = is;
  scale[c] = gamma[c] * is;
  rmean[c] = (1.f - momentum) * rmean[c] + momentum * static_cast<float>(mu);
  rvar[c] =
      (1.f - momentum) * rvar[c] + momentum * static_cast<float>(m2 / static_cast<double>(M - 1));
}

__global__ void running_kernel(int C, const float* __restrict__ gamma,
                               const float* __restrict__ rmean, const float* __restrict__ rvar,
                               float eps, float* __restrict__ mean, float* __restrict__ istd,
                               float* __restrict__ scale) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const float is = 1.f / sqrtf(rvar[c] + eps);
  mean[c] = rmean[c];
  istd[c] = is;
  scale[c] = gamma[c] * is;
}

__global__ void apply_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n, int C,
                             const float* __restrict__ mean, const float* __restrict__ scale,
                             const float* __restrict__ beta) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const int c = static_cast<int>(i % C);
    y[i] = (x[i] - mean[c]) * scale[c] + beta[c];
  }
}

__global__ void bwd_stage2(const float* __restrict__ partial, int chunks, int C,
                           const float* __restrict__ istd, float* __restrict__ dgamma,
                           float* __restrict__ dbeta) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float a = 0.f, b = 0.f;
  for (int k = 0; k < chunks; ++k) {
    const float* p = partial + (static_cast<int64_t>(k) * C + c) * 2;
    a += p[0];
    b += p[1];
  }
  dbeta[c] = a;
  dgamma[c] = b * istd[c];
}

__global__ void dx_kernel(const float* __restrict__ x, const float* __restrict__ dy,
                          float* __restrict__ dx, int64_t n, int C, float inv_m,
                          const float* __restrict__ gamma, const float* __restrict__ mean,
                          const float* __restrict__ istd, const float* __restrict__ dgamma,
                          const float* __restrict__ dbeta, bool batch) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const int c = static_cast<int>(i % C);
    const float k = gamma[c] * istd[c];
    if (batch) {
      const float xhat = (x[i] - mean[c]) * istd[c];
      dx[i] = k * (dy[i] - dbeta[c] * inv_m - xhat * dgamma[c] * inv_m);
    } else {
      dx[i] = k * dy[i];
    }
  }
}

}  // namespace

void bn_batch_stats(const float* x, int64_t M, int C, int chunks, const float* gamma,
                    float* running_mean, float* running_var, float momentum, float eps, float* mean,
                    float* istd, float* scale, float* partial, cudaStream_t s) {
  moments_stage1<<<stage1_grid(C, chunks), dim3(kTile, kLanes), 0, s>>>(x, M, C, partial);
  QF_CUDA_CHECK_LAUNCH();
  stats_stage2<<<per_channel_blocks(C), kThreads, 0, s>>>(
      partial, chunks, M, C, gamma, running_mean, running_var, momentum, eps, mean, istd, scale);
  QF_CUDA_CHECK_LAUNCH();
}

void bn_running_stats(int C, const float* gamma, const float* running_mean,
                      const float* running_var, float eps, float* mean, float* istd, float* scale,
                      cudaStream_t s) {
  running_kernel<<<per_channel_blocks(C), kThreads, 0, s>>>(C, gamma, running_mean, running_var,
                                                            eps, mean, istd, scale);
  QF_CUDA_CHECK_LAUNCH();
}

void bn_apply(const float* x, float* y, int64_t M, int C, const float* mean, const float* scale,
              const float* beta, cudaStream_t s) {
  const int64_t n = M * C;
  if (n == 0) return;
  apply_kernel<<<grid_for(n, 4), kThreads, 0, s>>>(x, y, n, C, mean, scale, beta);
  QF_CUDA_CHECK_LAUNCH();
}

void bn_backward(const float* x, const float* dy, float* dx, int64_t M, int C, int chunks,
                 const float* gamma, const float* mean, const float* istd, bool batch_stats,
                 float* dgamma, float* dbeta, float* partial, cudaStream_t s) {
  sums_stage1<<<stage1_grid(C, chunks), dim3(kTile, kLanes), 0, s>>>(dy, x, mean, M, C, 2, partial);
  QF_CUDA_CHECK_LAUNCH();
  bwd_stage2<<<per_channel_blocks(C), kThreads, 0, s>>>(partial, chunks, C, istd, dgamma, dbeta);
  QF_CUDA_CHECK_LAUNCH();
  if (!dx) return;
  const int64_t n = M * C;
  dx_kernel<<<grid_for(n, 4), kThreads, 0, s>>>(x, dy, dx, n, C, 1.f / static_cast<float>(M), gamma,
                                                mean, istd, dgamma, dbeta, batch_stats);
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
