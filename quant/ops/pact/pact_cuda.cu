// pact's CUDA kernels (math: pact.cpp): the clip, and its backward with dalpha summed per block
// and then over the blocks in a fixed order, so results are deterministic.
#include "nn/kernels/cuda/cuda_util.cuh"
#include "quant/ops/pact/pact_cuda.h"
#include "quant/ops/pact/pact_math.h"

namespace qf::cuda {
namespace {

__global__ void pact_forward_kernel(const float* __restrict__ x, const float* __restrict__ alpha,
                                    float* __restrict__ y, int64_t n) {
  const float a = *alpha;
  for (int64_t i = global_thread(); i < n; i += grid_threads()) y[i] = pact_clip(x[i], a);
}

// dx (optional) and per-block partial sums of dalpha (optional).
__global__ void pact_backward_kernel(const float* __restrict__ x, const float* __restrict__ alpha,
                                     const float* __restrict__ dy, float* __restrict__ dx,
                                     double* __restrict__ partial, int64_t n) {
  const float a = *alpha;
  double da = 0;
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const float v = x[i], g = dy[i];
    da += pact_dalpha_term(v, a, g);
    if (dx) dx[i] = pact_dx(v, a, g);
  }
  if (!partial) return;
  da = block_sum(da);
  if (threadIdx.x == 0) partial[blockIdx.x] = da;
}

__global__ void sum_partials_kernel(const double* __restrict__ partial, int count, float* out) {
  double s = 0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) s += partial[i];
  s = block_sum(s);
  if (threadIdx.x == 0) *out = static_cast<float>(s);
}

unsigned pact_blocks(int64_t n) {
  return std::min(grid_for(n, 4), 1024u);
}

}  // namespace

void pact_forward(const float* x, const float* alpha, float* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  pact_forward_kernel<<<pact_blocks(n), kThreads, 0, s>>>(x, alpha, y, n);
  QF_CUDA_CHECK_LAUNCH();
}

void pact_backward(const float* x, const float* alpha, const float* dy, float* dx, float* dalpha,
                   double* partial, int64_t n, cudaStream_t s) {
  const unsigned blocks = pact_blocks(n);
  pact_backward_kernel<<<blocks, kThreads, 0, s>>>(x, alpha, dy, dx, dalpha ? partial : nullptr, n);
  QF_CUDA_CHECK_LAUNCH();
  if (!dalpha) return;
  sum_partials_kernel<<<1, kThreads, 0, s>>>(partial, static_cast<int>(blocks), dalpha);
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
