// The layout kernels conv2d's cuDNN kernel needs: explicit zero padding and its inverse crop of
// channels-last tensors (asymmetric pads), and the weight reorder between KCRS and KRSC.
#include "nn/kernels/cuda/cuda_util.cuh"
#include "nn/ops/conv2d/conv2d_cuda.h"

namespace qf::cuda {
namespace {

// (K, A, B) -> (K, B, A) per output channel k: weights between KCRS (A = C, B = RS) and KRSC.
__global__ void weight_swap(const float* __restrict__ src, float* __restrict__ dst, int64_t K,
                            int64_t A, int64_t B) {
  const int64_t total = K * A * B;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t a = i % A, t = i / A, b = t % B, k = t / B;  // i indexes dst (k, b, a)
    dst[i] = src[(k * A + a) * B + b];
  }
}

__global__ void pad_kernel(const float* __restrict__ x, float* __restrict__ xp, int64_t N,
                           int64_t H, int64_t W, int64_t C, int64_t pt, int64_t pl, int64_t Hp,
                           int64_t Wp) {
  const int64_t total = N * Hp * Wp * C;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t c = i % C, t = i / C, w = t % Wp - pl, t2 = t / Wp, h = t2 % Hp - pt, n = t2 / Hp;
    xp[i] = h >= 0 && h < H && w >= 0 && w < W ? x[((n * H + h) * W + w) * C + c] : 0.f;
  }
}

__global__ void crop_kernel(const float* __restrict__ xp, float* __restrict__ x, int64_t N,
                            int64_t H, int64_t W, int64_t C, int64_t pt, int64_t pl, int64_t Hp,
                            int64_t Wp) {
  const int64_t total = N * H * W * C;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t c = i % C, t = i / C, w = t % W, t2 = t / W, h = t2 % H, n = t2 / H;
    x[i] = xp[((n * Hp + h + pt) * Wp + w + pl) * C + c];
  }
}

}  // namespace

void pad_nhwc(const float* x, float* xp, int64_t N, int64_t H, int64_t W, int64_t C, int64_t pt,
              int64_t pl, int64_t Hp, int64_t Wp, cudaStream_t s) {
  const int64_t n = N * Hp * Wp * C;
  if (n == 0) return;
  pad_kernel<<<grid_for(n, 4), kThreads, 0, s>>>(x, xp, N, H, W, C, pt, pl, Hp, Wp);
  QF_CUDA_CHECK_LAUNCH();
}

void crop_nhwc(const float* xp, float* x, int64_t N, int64_t H, int64_t W, int64_t C, int64_t pt,
               int64_t pl, int64_t Hp, int64_t Wp, cudaStream_t s) {
  const int64_t n = N * H * W * C;
  if (n == 0) return;
  crop_kernel<<<grid_for(n, 4), kThreads, 0, s>>>(xp, x, N, H, W, C, pt, pl, Hp, Wp);
  QF_CUDA_CHECK_LAUNCH();
}

void kcrs_to_krsc(const float* src, float* dst, int K, int C, int RS, cudaStream_t s) {
  const int64_t n = int64_t{K} * C * RS;
  if (n == 0) return;
  weight_swap<<<grid_for(n), kThreads, 0, s>>>(src, dst, K, C, RS);  // (K, C, RS) -> (K, RS, C)
  QF_CUDA_CHECK_LAUNCH();
}

void krsc_to_kcrs(const float* src, float* dst, int K, int C, int RS, cudaStream_t s) {
  const int64_t n = int64_t{K} * C * RS;
  if (n == 0) return;
  weight_swap<<<grid_for(n), kThreads, 0, s>>>(src, dst, K, RS, C);  // (K, RS, C) -> (K, C, RS)
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
