// Launch function of dropout's CUDA kernel (dropout_cuda.cu; mask in counter_rng.h, shared
// with the CPU kernel).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "nn/kernels/cuda/step_scalars.h"

namespace qf::cuda {

// b[i] = keep(i) ? a[i] * scale : 0 with the counter-based mask of nn/ops/dropout/counter_rng.h,
// key rng_key(scalars->seed, scalars->step, stream_id).
void dropout_apply(const float* a, float* b, int64_t n, const StepScalars* scalars,
                   uint64_t stream_id, uint32_t threshold, float scale, cudaStream_t s);

}  // namespace qf::cuda
