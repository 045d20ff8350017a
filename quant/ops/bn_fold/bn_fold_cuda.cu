// bn_fold_weight / bn_unscale's CUDA kernels (math: bn_fold.cpp): the fold factor per channel,
// the scaling, and dgamma per channel in a fixed order.
#include "nn/kernels/cuda/cuda_util.cuh"
#include "quant/ops/bn_fold/bn_fold_cuda.h"
#include "quant/ops/bn_fold/bn_fold_math.h"

namespace qf::cuda {
namespace {

__global__ void fold_k_kernel(const float* __restrict__ gamma, const float* __restrict__ var,
                              float eps, float* __restrict__ k, int64_t C) {
  for (int64_t c = global_thread(); c < C; c += grid_threads())
    k[c] = bn_fold_factor(gamma[c], var[c], eps);
}

// y = x * k[c] (weight, channel = i / inner) or x / k[c] (unscale, channel = i % C).
__global__ void fold_apply_kernel(const float* __restrict__ x, const float* __restrict__ k,
                                  float* __restrict__ y, int64_t n, int64_t C, int64_t inner,
                                  bool weight) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    y[i] = weight ? __fmul_rn(x[i], k[i / inner]) : __fdiv_rn(x[i], k[i % C]);
}

// One block per channel over x viewed as (outer, C, inner): dgamma[c] from sum(dout * x).
__global__ void fold_dgamma_kernel(const float* __restrict__ x, const float* __restrict__ dout,
                                   const float* __restrict__ gamma, const float* __restrict__ var,
                                   float eps, int64_t outer, int64_t C, int64_t inner, bool weight,
                                   float* __restrict__ dgamma) {
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double acc = 0;
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t base = (o * C + c) * inner;
      for (int64_t i = threadIdx.x; i < inner; i += blockDim.x)
        acc += static_cast<double>(dout[base + i]) * x[base + i];
    }
    acc = block_sum(acc);
    if (threadIdx.x == 0)
      dgamma[c] = bn_fold_gamma_grad(static_cast<float>(acc), gamma[c], var[c], eps, weight);
  }
}

}  // namespace

void bn_fold_k(const float* gamma, const float* var, float eps, float* k, int64_t C,
               cudaStream_t s) {
  fold_k_kernel<<<grid_for(C), kThreads, 0, s>>>(gamma, var, eps, k, C);
  QF_CUDA_CHECK_LAUNCH();
}

void bn_fold_apply(const float* x, const float* k, float* y, int64_t n, int64_t C, int64_t inner,
                   bool weight, cudaStream_t s) {
  if (n == 0) return;
  fold_apply_kernel<<<grid_for(n), kThreads, 0, s>>>(x, k, y, n, C, inner, weight);
  QF_CUDA_CHECK_LAUNCH();
}

void bn_fold_dgamma(const float* x, const float* dout, const float* gamma, const float* var,
                    float eps, int64_t outer, int64_t C, int64_t inner, bool weight, float* dgamma,
                    cudaStream_t s) {
  const unsigned blocks =
      static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(C, 1), 1 << 16));
  fold_dgamma_kernel<<<blocks, kThreads, 0, s>>>(x, dout, gamma, var, eps, outer, C, inner, weight,
                                                 dgamma);
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
