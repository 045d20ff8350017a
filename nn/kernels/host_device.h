// QF_HOST_DEVICE marks functions that CPU and CUDA kernels share (the scalar math of pointwise
// ops, counter-based random numbers, quantizer formulas): __host__ __device__ under nvcc, plain
// inline functions elsewhere.
#pragma once

#if defined(__CUDACC__)
#define QF_HOST_DEVICE __host__ __device__
#else
#define QF_HOST_DEVICE
#endif
