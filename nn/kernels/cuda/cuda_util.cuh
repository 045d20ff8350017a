// Device-side helpers shared by the backend's .cu files: launch geometry and grid-stride loops.
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

}  // namespace qf::cuda
