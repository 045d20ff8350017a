// dropout's CUDA kernel (mask: counter_rng.h, bit-identical to the CPU's).
#include "nn/kernels/cuda/cuda_util.cuh"
#include "nn/ops/dropout/counter_rng.h"
#include "nn/ops/dropout/dropout_cuda.h"

namespace qf::cuda {
namespace {

__global__ void dropout_kernel(const float* __restrict__ a, float* __restrict__ b, int64_t n,
                               const StepScalars* __restrict__ scalars, uint64_t stream_id,
                               uint32_t threshold, float scale) {
  const uint64_t key = rng_key(scalars->seed, static_cast<uint64_t>(scalars->step), stream_id);
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    b[i] = rng_keep(key, static_cast<uint64_t>(i), threshold) ? a[i] * scale : 0.f;
}

}  // namespace

void dropout_apply(const float* a, float* b, int64_t n, const StepScalars* scalars,
                   uint64_t stream_id, uint32_t threshold, float scale, cudaStream_t s) {
  if (n == 0) return;
  dropout_kernel<<<grid_for(n, 4), kThreads, 0, s>>>(a, b, n, scalars, stream_id, threshold, scale);
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
