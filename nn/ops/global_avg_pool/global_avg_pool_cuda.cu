// global_avg_pool's CUDA kernels on channels-last tensors: one thread per (n, c) summing the
// sample's H*W rows in order; backward spreads dy / (H*W) over them.
#include "nn/kernels/cuda/cuda_util.cuh"
#include "nn/ops/global_avg_pool/global_avg_pool_cuda.h"

namespace qf::cuda {
namespace {

// One thread per (n, c); the H*W rows of a sample are summed in order.
__global__ void gap_fwd(const float* __restrict__ x, float* __restrict__ y, int N, int C, int HW) {
  const int64_t total = int64_t{N} * C;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t n = i / C, c = i % C;
    const float* xs = x + n * HW * C + c;
    float s = 0.f;
    for (int k = 0; k < HW; ++k) s += xs[int64_t{k} * C];
    y[i] = s / static_cast<float>(HW);
  }
}

__global__ void gap_bwd(const float* __restrict__ dy, float* __restrict__ dx, int N, int C,
                        int HW) {
  const int64_t total = int64_t{N} * HW * C;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t c = i % C, n = i / (int64_t{HW} * C);
    dx[i] = dy[n * C + c] / static_cast<float>(HW);
  }
}

}  // namespace

void global_avg_pool_forward(const float* x, float* y, int N, int C, int HW, cudaStream_t s) {
  const int64_t n = int64_t{N} * C;
  if (n == 0) return;
  gap_fwd<<<grid_for(n), kThreads, 0, s>>>(x, y, N, C, HW);
  QF_CUDA_CHECK_LAUNCH();
}

void global_avg_pool_backward(const float* dy, float* dx, int N, int C, int HW, cudaStream_t s) {
  const int64_t n = int64_t{N} * HW * C;
  if (n == 0) return;
  gap_bwd<<<grid_for(n, 4), kThreads, 0, s>>>(dy, dx, N, C, HW);
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
