// Launch functions of add / mul's CUDA kernels (elementwise_cuda.cu; math in elementwise.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "nn/kernels/cuda/host_plans.h"

namespace qf::cuda {

void broadcast_forward(bool mul, const float* a, const float* b, float* y, const BroadcastWalk& w,
                       cudaStream_t s);
// Gradient of one operand x (the other is `other`, read only for mul): dx = sum over the dims x
// is broadcast along of dy (* other). `w` is the walk with x as operand a and the other as b.
void broadcast_backward(bool mul, const float* dy, const float* other, float* dx,
                        const BroadcastWalk& w, int64_t numel_x, cudaStream_t s);
void mul_same(const float* a, const float* b, float* y, int64_t n, cudaStream_t s);
void add_same(const float* a, const float* b, float* y, int64_t n, cudaStream_t s);

}  // namespace qf::cuda
