// Launch functions of batch_norm's CUDA kernels (batch_norm_cuda.cu; math in batch_norm.h).
// x is (M, C), channel fastest.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace qf::cuda {

// Batch statistics (nn/ops/batch_norm/batch_norm.h): mean and biased variance per channel in one
// pass (Welford per thread, merged in a fixed order), the running statistics updated with momentum
// m (running_var with the unbiased variance * M / (M - 1)), istd = 1 / sqrt(var + eps) and scale =
// gamma * istd. `partial` holds 3 * chunks * C floats.
void bn_batch_stats(const float* x, int64_t M, int C, int chunks, const float* gamma,
                    float* running_mean, float* running_var, float momentum, float eps, float* mean,
                    float* istd, float* scale, float* partial, cudaStream_t s);
// Running statistics as the normalisation (eval, frozen statistics): mean, istd, scale from them.
void bn_running_stats(int C, const float* gamma, const float* running_mean,
                      const float* running_var, float eps, float* mean, float* istd, float* scale,
                      cudaStream_t s);
// y = (x - mean[c]) * scale[c] + beta[c]
void bn_apply(const float* x, float* y, int64_t M, int C, const float* mean, const float* scale,
              const float* beta, cudaStream_t s);
// Backward with the statistics the forward used: dbeta = sum dy, dgamma = sum dy * xhat,
// xhat = (x - mean) * istd (both required, the caller passes scratch when it needs neither), then
// dx (when not null) = gamma * istd * (dy - dbeta / M - xhat * dgamma / M) with batch statistics,
// or gamma * istd * dy with constant ones. `partial`: 2 * chunks * C floats.
void bn_backward(const float* x, const float* dy, float* dx, int64_t M, int C, int chunks,
                 const float* gamma, const float* mean, const float* istd, bool batch_stats,
                 float* dgamma, float* dbeta, float* partial, cudaStream_t s);

}  // namespace qf::cuda
