// Tensor utilities of CudaContext: dst += src, scaled copies, and the fused SGD update.
#include "nn/kernels/cuda/cuda_util.cuh"
#include "nn/kernels/cuda/launch.h"

namespace qf::cuda {
namespace {

__global__ void add_inplace_kernel(float* __restrict__ d, const float* __restrict__ s, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) d[i] += s[i];
}

__global__ void scale_copy_kernel(const float* __restrict__ a, float* __restrict__ b, float k,
                                  int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) b[i] = a[i] * k;
}

// partial[b] = sum of g^2 over chunk b, in double (one block per chunk).
__global__ void grad_sumsq_kernel(const float* __restrict__ g, const SgdChunk* __restrict__ chunks,
                                  double* __restrict__ partial) {
  __shared__ double sh[kThreads];
  const SgdChunk c = chunks[blockIdx.x];
  double acc = 0;
  for (int i = threadIdx.x; i < c.numel; i += blockDim.x) {
    const double x = g[c.offset + i];
    acc += x * x;
  }
  const double sum = block_sum(acc, sh);
  if (threadIdx.x == 0) partial[blockIdx.x] = sum;
}

// One block: the partials in a fixed order, then the clip factor (nn/context.h sgd_clip_factor).
__global__ void clip_factor_kernel(const double* __restrict__ partial, int n, float grad_scale,
                                   float clip_norm, float* __restrict__ factor) {
  __shared__ double sh[kThreads];
  double acc = 0;
  for (int i = threadIdx.x; i < n; i += blockDim.x) acc += partial[i];
  const double sum = block_sum(acc, sh);
  if (threadIdx.x == 0) *factor = qf::sgd_clip_factor(sum, grad_scale, clip_norm);
}

// One block per chunk; every element of a chunk belongs to one parameter (same multipliers).
// Same arithmetic, in the same order, as CpuContext::sgd_momentum_update; `clip` (device, may be
// null for 1) is the global-norm clip factor.
__global__ void sgd_kernel(float* __restrict__ p, const float* __restrict__ g,
                           float* __restrict__ v, const SgdChunk* __restrict__ chunks,
                           const StepScalars* __restrict__ scalars, const float* __restrict__ clip,
                           float m, float weight_decay, float grad_scale, bool nesterov) {
  const SgdChunk c = chunks[blockIdx.x];
  const float lr = scalars->lr * c.lr_mult, wd = weight_decay * c.decay_mult;
  const float gs = clip ? grad_scale * *clip : grad_scale;
  float* ps = p + c.offset;
  const float* gsrc = g + c.offset;
  float* vs = v + c.offset;
  for (int i = threadIdx.x; i < c.numel; i += blockDim.x) {
    if (nesterov) {
      const float gi = gsrc[i] * gs + wd * ps[i];
      const float vi = m * vs[i] + gi;
      vs[i] = vi;
      ps[i] -= lr * (gi + m * vi);
    } else {
      const float vi = m * vs[i] + gsrc[i] * gs + wd * ps[i];
      vs[i] = vi;
      ps[i] -= lr * vi;
    }
  }
}

}  // namespace

cudaError_t probe_kernels() {
  cudaFuncAttributes attr;
  return cudaFuncGetAttributes(&attr, add_inplace_kernel);
}

void add_inplace(float* dst, const float* src, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  add_inplace_kernel<<<grid_for(n, 4), kThreads, 0, s>>>(dst, src, n);
  QF_CUDA_CHECK_LAUNCH();
}

void scale_copy(const float* src, float* dst, float scale, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  scale_copy_kernel<<<grid_for(n, 4), kThreads, 0, s>>>(src, dst, scale, n);
  QF_CUDA_CHECK_LAUNCH();
}

void grad_clip_factor(const float* g, const SgdChunk* chunks, int num_chunks, double* partial,
                      float grad_scale, float clip_norm, float* factor, cudaStream_t s) {
  if (num_chunks > 0) {
    grad_sumsq_kernel<<<num_chunks, kThreads, 0, s>>>(g, chunks, partial);
    QF_CUDA_CHECK_LAUNCH();
  }
  clip_factor_kernel<<<1, kThreads, 0, s>>>(partial, num_chunks, grad_scale, clip_norm, factor);
  QF_CUDA_CHECK_LAUNCH();
}

void sgd_momentum(float* p, const float* g, float* v, const SgdChunk* chunks, int num_chunks,
                  const StepScalars* scalars, const float* clip, float momentum, float weight_decay,
                  float grad_scale, bool nesterov, cudaStream_t s) {
  if (num_chunks == 0) return;
  sgd_kernel<<<num_chunks, kThreads, 0, s>>>(p, g, v, chunks, scalars, clip, momentum, weight_decay,
                                             grad_scale, nesterov);
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
