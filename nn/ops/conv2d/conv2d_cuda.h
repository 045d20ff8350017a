// Launch functions of the layout kernels conv2d's cuDNN kernel needs (conv2d_cuda.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace qf::cuda {

// Explicit zero padding of a channels-last (N, H, W, C) tensor into (N, Hp, Wp, C) with the data
// at row pt, column pl; and the inverse crop (for convolutions with asymmetric pads).
void pad_nhwc(const float* x, float* xp, int64_t N, int64_t H, int64_t W, int64_t C, int64_t pt,
              int64_t pl, int64_t Hp, int64_t Wp, cudaStream_t s);
void crop_nhwc(const float* xp, float* x, int64_t N, int64_t H, int64_t W, int64_t C, int64_t pt,
               int64_t pl, int64_t Hp, int64_t Wp, cudaStream_t s);
// Convolution weights: (K, C, R, S) <-> (K, R, S, C) (cuDNN's NHWC filter layout).
void kcrs_to_krsc(const float* src, float* dst, int K, int C, int RS, cudaStream_t s);
void krsc_to_kcrs(const float* src, float* dst, int K, int C, int RS, cudaStream_t s);

}  // namespace qf::cuda
