// The per-channel reductions and bias of launch.h (conv2d, linear and batch_norm use them): column
// sums in two fixed-order stages (column_reduce.cuh) and the per-channel bias add.
#include <cmath>

#include "nn/kernels/cuda/column_reduce.cuh"
#include "nn/kernels/cuda/launch.h"

namespace qf::cuda {
namespace {

__global__ void column_stage2(const float* __restrict__ partial, int chunks, int C,
                              float* __restrict__ out) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float s = 0.f;
  for (int k = 0; k < chunks; ++k) s += partial[static_cast<int64_t>(k) * C + c];
  out[c] = s;
}

__global__ void bias_kernel(float* __restrict__ y, const float* __restrict__ b, int64_t n, int C) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) y[i] += b[i % C];
}

}  // namespace

int reduction_chunks(int64_t M, int C, int multiprocessors) {
  const int64_t tiles = (C + kTile - 1) / kTile;
  const int64_t want = (4 * int64_t{std::max(multiprocessors, 1)} + tiles - 1) / tiles;
  const int64_t most = std::max<int64_t>(1, M / (4 * kLanes));  // at least 32 rows a chunk
  return static_cast<int>(std::clamp<int64_t>(want, 1, std::min<int64_t>(most, 65535)));
}

void column_sums(const float* x, float* out, int64_t M, int C, int chunks, float* partial,
                 cudaStream_t s) {
  if (C == 0) return;
  sums_stage1<<<stage1_grid(C, chunks), dim3(kTile, kLanes), 0, s>>>(x, nullptr, nullptr, M, C, 1,
                                                                     partial);
  QF_CUDA_CHECK_LAUNCH();
  column_stage2<<<per_channel_blocks(C), kThreads, 0, s>>>(partial, chunks, C, out);
  QF_CUDA_CHECK_LAUNCH();
}

void add_channel_bias(float* y, const float* bias, int64_t M, int C, cudaStream_t s) {
  const int64_t n = M * C;
  if (n == 0) return;
  bias_kernel<<<grid_for(n, 4), kThreads, 0, s>>>(y, bias, n, C);
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
