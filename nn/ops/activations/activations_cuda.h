// Launch functions of the activations' CUDA kernels (activations_cuda.cu; math in
// activations_math.h, shared with the CPU kernels).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace qf::cuda {

enum class Activation : int { relu, relu6, hardsigmoid, hardswish, sigmoid };
void activation_forward(Activation a, float alpha, float beta, const float* x, float* y, int64_t n,
                        cudaStream_t s);
void activation_backward(Activation a, float alpha, float beta, const float* x, const float* y,
                         const float* dy, float* dx, int64_t n, cudaStream_t s);

}  // namespace qf::cuda
