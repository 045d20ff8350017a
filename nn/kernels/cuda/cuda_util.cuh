// Device-side helpers shared by the backend's .cu files: launch geometry, grid-stride loops and
// fixed-order block reductions.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "nn/kernels/cuda/cuda_check.h"

namespace qf::cuda {

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n elements, `per_thread` elements per thread per pass:
// enough to fill any current GPU several times over, capped so that huge tensors loop.
inline unsigned grid_for(int64_t n, int per_thread = 1) {
  const int64_t want = (n + int64_t{kThreads} * per_thread - 1) / (int64_t{kThreads} * per_thread);
  return static_cast<unsigned>(std::clamp<int64_t>(want, 1, int64_t{1} << 16));
}

__device__ inline int64_t global_thread() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline int64_t grid_threads() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

// Block-wide sum and max over the block's kThreads threads (blockDim.x == kThreads), in a fixed
// tree order so results do not depend on scheduling; `sh` is kThreads of shared memory. Every
// thread gets the result, and `sh` is free again on return.
template <typename T>
__device__ inline T block_sum(T v, T* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int h = kThreads / 2; h > 0; h /= 2) {
    if (threadIdx.x < h) sh[threadIdx.x] += sh[threadIdx.x + h];
    __syncthreads();
  }
  const T r = sh[0];
  __syncthreads();
  return r;
}
__device__ inline float block_max(float v, float* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int h = kThreads / 2; h > 0; h /= 2) {
    if (threadIdx.x < h) sh[threadIdx.x] = fmaxf(sh[threadIdx.x], sh[threadIdx.x + h]);
    __syncthreads();
  }
  const float r = sh[0];
  __syncthreads();
  return r;
}

// The same with shared memory of their own (one array per function and block), for kernels that
// reduce once or in sequence.
__device__ inline double block_sum(double v) {
  __shared__ double sh[kThreads];
  return block_sum(v, sh);
}
__device__ inline float block_max(float v) {
  __shared__ float sh[kThreads];
  return block_max(v, sh);
}

}  // namespace qf::cuda
