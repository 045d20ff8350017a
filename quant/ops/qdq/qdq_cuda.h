// Launch functions of quantize_linear / dequantize_linear's CUDA kernels (qdq_cuda.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace qf::cuda {

// ONNX QuantizeLinear / DequantizeLinear (quant/ops/qdq/qdq.cpp): x viewed as (outer, axis_len,
// inner); per-tensor when axis_len == 1. `qtype`: 0 int8, 1 uint8, 2 int16, 3 int32 (dequantize).
void quantize_linear(const float* x, const float* scale, const void* zp, void* q, int qtype,
                     int64_t outer, int64_t axis_len, int64_t inner, cudaStream_t s);
void dequantize_linear(const void* q, const float* scale, const void* zp, float* x, int qtype,
                       int64_t outer, int64_t axis_len, int64_t inner, cudaStream_t s);

}  // namespace qf::cuda
