// Launch functions of max_pool2d / avg_pool2d's CUDA kernels (pool2d_cuda.cu; semantics in
// pool2d.h and pool2d_ref.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace qf::cuda {

struct PoolDims {
  int N, C, H, W, KH, KW, sh, sw, pt, pl, pb, pr, OH, OW;
  bool count_include_pad;
};
// argmax (optional) receives, per output, the input position h * W + w of the window's first max.
void max_pool2d_forward(const PoolDims& d, const float* x, float* y, int32_t* argmax,
                        cudaStream_t s);
void max_pool2d_backward(const PoolDims& d, const int32_t* argmax, const float* dy, float* dx,
                         cudaStream_t s);
void avg_pool2d_forward(const PoolDims& d, const float* x, float* y, cudaStream_t s);
void avg_pool2d_backward(const PoolDims& d, const float* dy, float* dx, cudaStream_t s);

}  // namespace qf::cuda
