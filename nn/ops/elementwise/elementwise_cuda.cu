// add / mul with numpy broadcasting under the channels-last layout rule
// (nn/ops/elementwise/elementwise.h). Forward walks the output in memory order (host_plans.h
// broadcast_walk); backward computes each operand's gradient element by element, summing over the
// dims it was broadcast along in a fixed order (deterministic, no atomics): one thread per element,
// or one block per element when the sums are long and the elements few (a per-channel operand of a
// large tensor).
#include "nn/kernels/cuda/cuda_util.cuh"
#include "nn/ops/elementwise/elementwise_cuda.h"

namespace qf::cuda {
namespace {

template <bool Mul>
__global__ void same_kernel(const float* __restrict__ a, const float* __restrict__ b,
                            float* __restrict__ y, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    y[i] = Mul ? a[i] * b[i] : a[i] + b[i];
}

template <bool Mul>
__global__ void walk_kernel(const float* __restrict__ a, const float* __restrict__ b,
                            float* __restrict__ y, BroadcastWalk w) {
  for (int64_t i = global_thread(); i < w.numel; i += grid_threads()) {
    int64_t oa, ob;
    walk_offsets(w, i, oa, ob);
    y[i] = Mul ? a[oa] * b[ob] : a[oa] + b[ob];
  }
}

template <bool Mul>
__device__ inline float reduced_term(const ReducePlan& p, int64_t j, int64_t oy, int64_t oo,
                                     const float* __restrict__ dy,
                                     const float* __restrict__ other) {
  reduced_offsets(p, j, oy, oo);
  return Mul ? dy[oy] * other[oo] : dy[oy];
}

template <bool Mul>
__global__ void reduce_thread_kernel(const float* __restrict__ dy, const float* __restrict__ other,
                                     float* __restrict__ dx, ReducePlan p, int64_t numel_x) {
  for (int64_t t = global_thread(); t < numel_x; t += grid_threads()) {
    int64_t ox, oy, oo;
    kept_offsets(p, t, ox, oy, oo);
    float acc = 0.f;
    for (int64_t j = 0; j < p.r_total; ++j) acc += reduced_term<Mul>(p, j, oy, oo, dy, other);
    dx[ox] = acc;
  }
}

template <bool Mul>
__global__ void reduce_block_kernel(const float* __restrict__ dy, const float* __restrict__ other,
                                    float* __restrict__ dx, ReducePlan p) {
  __shared__ float part[kThreads];
  int64_t ox, oy, oo;
  kept_offsets(p, blockIdx.x, ox, oy, oo);
  float acc = 0.f;
  for (int64_t j = threadIdx.x; j < p.r_total; j += blockDim.x)
    acc += reduced_term<Mul>(p, j, oy, oo, dy, other);
  part[threadIdx.x] = acc;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) dx[ox] = part[0];
}

}  // namespace

void add_same(const float* a, const float* b, float* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  same_kernel<false><<<grid_for(n, 4), kThreads, 0, s>>>(a, b, y, n);
  QF_CUDA_CHECK_LAUNCH();
}

void mul_same(const float* a, const float* b, float* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  same_kernel<true><<<grid_for(n, 4), kThreads, 0, s>>>(a, b, y, n);
  QF_CUDA_CHECK_LAUNCH();
}

void broadcast_forward(bool mul, const float* a, const float* b, float* y, const BroadcastWalk& w,
                       cudaStream_t s) {
  if (w.numel == 0) return;
  if (mul)
    walk_kernel<true><<<grid_for(w.numel, 4), kThreads, 0, s>>>(a, b, y, w);
  else
    walk_kernel<false><<<grid_for(w.numel, 4), kThreads, 0, s>>>(a, b, y, w);
  QF_CUDA_CHECK_LAUNCH();
}

void broadcast_backward(bool mul, const float* dy, const float* other, float* dx,
                        const BroadcastWalk& w, int64_t numel_x, cudaStream_t s) {
  if (numel_x == 0) return;
  const ReducePlan p = reduce_plan(w);
  const bool per_block = numel_x < 16384 && p.r_total >= 256;
  if (per_block) {
    if (mul)
      reduce_block_kernel<true>
          <<<static_cast<unsigned>(numel_x), kThreads, 0, s>>>(dy, other, dx, p);
    else
      reduce_block_kernel<false>
          <<<static_cast<unsigned>(numel_x), kThreads, 0, s>>>(dy, other, dx, p);
  } else {
    if (mul)
      reduce_thread_kernel<true><<<grid_for(numel_x), kThreads, 0, s>>>(dy, other, dx, p, numel_x);
    else
      reduce_thread_kernel<false><<<grid_for(numel_x), kThreads, 0, s>>>(dy, other, dx, p, numel_x);
  }
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
