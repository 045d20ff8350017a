// Launch functions of bn_fold_weight / bn_unscale's CUDA kernels (bn_fold_cuda.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace qf::cuda {

// BatchNorm folding (quant/ops/bn_fold/bn_fold.cpp): k[c] = gamma[c] / sqrt(var[c] + eps); y = x *
// k (weight: channel i / inner) or x / k (unscale: channel i % C); dgamma from sum(dout * x) over x
// viewed as (outer, C, inner).
void bn_fold_k(const float* gamma, const float* var, float eps, float* k, int64_t C,
               cudaStream_t s);
void bn_fold_apply(const float* x, const float* k, float* y, int64_t n, int64_t C, int64_t inner,
                   bool weight, cudaStream_t s);
void bn_fold_dgamma(const float* x, const float* dout, const float* gamma, const float* var,
                    float eps, int64_t outer, int64_t C, int64_t inner, bool weight, float* dgamma,
                    cudaStream_t s);

}  // namespace qf::cuda
