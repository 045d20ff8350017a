// Launch functions of pact's CUDA kernels (pact_cuda.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace qf::cuda {

// PACT (quant/ops/pact/pact.cpp): y = clip(x, -alpha, alpha); backward dx (optional) and dalpha
// (optional; `partial` holds 1024 doubles, summed in a fixed order).
void pact_forward(const float* x, const float* alpha, float* y, int64_t n, cudaStream_t s);
void pact_backward(const float* x, const float* alpha, const float* dy, float* dx, float* dalpha,
                   double* partial, int64_t n, cudaStream_t s);

}  // namespace qf::cuda
