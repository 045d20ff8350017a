// softmax_cross_entropy's CUDA kernels (math: softmax_cross_entropy.cpp): one block per row for
// the row's max, log-sum-exp and loss, the mean in a fixed order, and the gradient elementwise.
#include <cfloat>
#include <cmath>

#include "nn/kernels/cuda/cuda_util.cuh"
#include "nn/ops/softmax_cross_entropy/softmax_cross_entropy_cuda.h"

namespace qf::cuda {
namespace {

// One block per row.
__global__ void xent_rows(const float* __restrict__ z, const int32_t* __restrict__ labels,
                          int64_t K, float on, float off, float* __restrict__ max_out,
                          float* __restrict__ log_s_out, float* __restrict__ row_loss,
                          int32_t* __restrict__ bad) {
  __shared__ float sh[kThreads];
  const int64_t n = blockIdx.x;
  const float* row = z + n * K;
  float m = -FLT_MAX;
  for (int64_t k = threadIdx.x; k < K; k += kThreads) m = fmaxf(m, row[k]);
  m = block_max(m, sh);
  float se = 0.f, sz = 0.f;
  for (int64_t k = threadIdx.x; k < K; k += kThreads) {
    se += expf(row[k] - m);
    sz += row[k] - m;
  }
  se = block_sum(se, sh);
  sz = block_sum(sz, sh);
  if (threadIdx.x == 0) {
    const int32_t label = labels[n];
    const float log_s = logf(se);
    max_out[n] = m;
    log_s_out[n] = log_s;
    if (label < 0 || label >= K) {
      row_loss[n] = NAN;
      atomicMin(bad, static_cast<int32_t>(n));
    } else {
      row_loss[n] = log_s - (on * (row[label] - m) + off * sz);
    }
  }
}

__global__ void xent_mean(const float* __restrict__ row_loss, int64_t N, float* __restrict__ loss) {
  __shared__ double sh[kThreads];
  double s = 0;
  for (int64_t i = threadIdx.x; i < N; i += kThreads) s += row_loss[i];
  s = block_sum(s, sh);
  if (threadIdx.x == 0) loss[0] = static_cast<float>(s / static_cast<double>(N));
}

__global__ void xent_bwd(const float* __restrict__ z, const int32_t* __restrict__ labels,
                         const float* __restrict__ dloss, int64_t N, int64_t K, float on, float off,
                         const float* __restrict__ max, const float* __restrict__ log_s,
                         float* __restrict__ dz) {
  const float g = dloss[0] / static_cast<float>(N);
  for (int64_t i = global_thread(); i < N * K; i += grid_threads()) {
    const int64_t n = i / K, k = i % K;
    float d = g * (expf(z[i] - max[n] - log_s[n]) - off);
    if (k == labels[n]) d -= g * on;
    dz[i] = d;
  }
}

}  // namespace

void softmax_xent_forward(const float* z, const int32_t* labels, int64_t N, int64_t K, float on,
                          float off, float* max, float* log_s, float* row_loss, float* loss,
                          int32_t* bad, cudaStream_t s) {
  xent_rows<<<static_cast<unsigned>(N), kThreads, 0, s>>>(z, labels, K, on, off, max, log_s,
                                                          row_loss, bad);
  QF_CUDA_CHECK_LAUNCH();
  xent_mean<<<1, kThreads, 0, s>>>(row_loss, N, loss);
  QF_CUDA_CHECK_LAUNCH();
}

void softmax_xent_backward(const float* z, const int32_t* labels, const float* dloss, int64_t N,
                           int64_t K, float on, float off, const float* max, const float* log_s,
                           float* dz, cudaStream_t s) {
  xent_bwd<<<grid_for(N * K, 2), kThreads, 0, s>>>(z, labels, dloss, N, K, on, off, max, log_s, dz);
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
