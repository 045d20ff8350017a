// Launch functions of softmax_cross_entropy's CUDA kernels (softmax_cross_entropy_cuda.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace qf::cuda {

// Cross-entropy of softmax(z) against label-smoothed targets
// (nn/ops/softmax_cross_entropy/softmax_cross_entropy.cpp). Per row: max[n], log_s[n], row_loss[n];
// then loss[0] = mean of row_loss in a fixed order. A label outside [0, K) makes its row's loss NaN
// and records its position in *bad (atomicMin; initialise to INT32_MAX).
void softmax_xent_forward(const float* z, const int32_t* labels, int64_t N, int64_t K, float on,
                          float off, float* max, float* log_s, float* row_loss, float* loss,
                          int32_t* bad, cudaStream_t s);
void softmax_xent_backward(const float* z, const int32_t* labels, const float* dloss, int64_t N,
                           int64_t K, float on, float off, const float* max, const float* log_s,
                           float* dz, cudaStream_t s);

}  // namespace qf::cuda
