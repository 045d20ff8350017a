// flatten's CUDA kernel: the per-sample transpose from channels-last (H*W, C) to logical order.
#include "nn/kernels/cuda/cuda_util.cuh"
#include "nn/ops/flatten/flatten_cuda.h"

namespace qf::cuda {
namespace {

__global__ void transpose_kernel(const float* __restrict__ src, float* __restrict__ dst, int64_t N,
                                 int64_t rows, int64_t cols) {
  const int64_t total = N * rows * cols;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    // i indexes dst = (n, col, row): consecutive threads write consecutive rows.
    const int64_t row = i % rows, t = i / rows, col = t % cols, n = t / cols;
    dst[i] = src[(n * rows + row) * cols + col];
  }
}

}  // namespace

void batched_transpose(const float* src, float* dst, int64_t N, int64_t rows, int64_t cols,
                       cudaStream_t s) {
  const int64_t n = N * rows * cols;
  if (n == 0) return;
  transpose_kernel<<<grid_for(n, 2), kThreads, 0, s>>>(src, dst, N, rows, cols);
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
