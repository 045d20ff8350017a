// Launch functions of global_avg_pool's CUDA kernels (global_avg_pool_cuda.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace qf::cuda {

void global_avg_pool_forward(const float* x, float* y, int N, int C, int HW, cudaStream_t s);
void global_avg_pool_backward(const float* dy, float* dx, int N, int C, int HW, cudaStream_t s);

}  // namespace qf::cuda
