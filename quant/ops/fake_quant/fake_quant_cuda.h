// Launch functions of the fake-quant ops' CUDA kernels (fake_quant_cuda.cu; formulas in
// fake_quant.h). The bandwidth benchmark (bench/cuda_fake_quant_bench.cpp) times them.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "nn/kernels/cuda/step_scalars.h"

namespace qf::cuda {

// *out = max |x| (the call zeroes it first).
void abs_max(const float* x, int64_t n, float* out, cudaStream_t s);
// y = quantize-dequantize of x with the per-tensor threshold *scale (device memory).
void fake_quant_dequant(const float* x, float* y, int64_t n, const float* scale, int bits,
                        int round_type, cudaStream_t s);
// Per channel, one launch: x viewed as (outer, channels, inner); scale[c] = max |x| over channel
// c, then y = quantize-dequantize of channel c with scale[c].
void channel_fake_quant_dequant(const float* x, float* y, int64_t outer, int64_t channels,
                                int64_t inner, float* scale, int bits, int round_type,
                                cudaStream_t s);
// EMA of moving_average_abs_max (quant/ops/fake_quant/fake_quant.h EmaUpdate) on device scalars:
// with the batch max *m, state = rate * state + 1, accum = rate * accum + m, scale = accum / state.
void ema_update(const float* m, float rate, float* scale, float* state, float* accum,
                cudaStream_t s);
// range_abs_max's window update (fake_quant.h range_abs_max_update) with the batch max *m, at
// iteration scalars->step + 1; writes the new *scale.
void range_abs_max_update(const float* m, float* scale, float* window, int64_t window_size,
                          const StepScalars* scalars, cudaStream_t s);

}  // namespace qf::cuda
