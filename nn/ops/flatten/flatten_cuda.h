// Launch function of flatten's CUDA kernel (flatten_cuda.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace qf::cuda {

// Per sample: dst (cols, rows) = transpose of src (rows, cols); N samples.
void batched_transpose(const float* src, float* dst, int64_t N, int64_t rows, int64_t cols,
                       cudaStream_t s);

}  // namespace qf::cuda
