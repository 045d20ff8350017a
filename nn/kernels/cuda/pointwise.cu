// Pointwise activations (math: nn/kernels/activation_fns.h, shared with the CPU kernels) and
// dropout (mask: nn/kernels/counter_rng.h, bit-identical to the CPU's).
#include "nn/kernels/activation_fns.h"
#include "nn/kernels/counter_rng.h"
#include "nn/kernels/cuda/cuda_util.cuh"
#include "nn/kernels/cuda/launch.h"

namespace qf::cuda {
namespace {

template <class F>
__global__ void act_fwd(const float* __restrict__ x, float* __restrict__ y, int64_t n, float a,
                        float b) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) y[i] = F::f(x[i], a, b);
}

template <class F>
__global__ void act_bwd(const float* __restrict__ x, const float* __restrict__ y,
                        const float* __restrict__ dy, float* __restrict__ dx, int64_t n, float a,
                        float b) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    dx[i] = dy[i] * F::df(x[i], y[i], a, b);
}

template <class F>
void launch_fwd(const float* x, float* y, int64_t n, float a, float b, cudaStream_t s) {
  act_fwd<F><<<grid_for(n, 4), kThreads, 0, s>>>(x, y, n, a, b);
}
template <class F>
void launch_bwd(const float* x, const float* y, const float* dy, float* dx, int64_t n, float a,
                float b, cudaStream_t s) {
  act_bwd<F><<<grid_for(n, 4), kThreads, 0, s>>>(x, y, dy, dx, n, a, b);
}

__global__ void dropout_kernel(const float* __restrict__ a, float* __restrict__ b, int64_t n,
                               const StepScalars* __restrict__ scalars, uint64_t stream_id,
                               uint32_t threshold, float scale) {
  const uint64_t key = rng_key(scalars->seed, static_cast<uint64_t>(scalars->step), stream_id);
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    b[i] = rng_keep(key, static_cast<uint64_t>(i), threshold) ? a[i] * scale : 0.f;
}

}  // namespace

void activation_forward(Activation a, float alpha, float beta, const float* x, float* y, int64_t n,
                        cudaStream_t s) {
  if (n == 0) return;
  switch (a) {
    case Activation::relu:
      launch_fwd<act::Relu>(x, y, n, alpha, beta, s);
      break;
    case Activation::relu6:
      launch_fwd<act::Relu6>(x, y, n, alpha, beta, s);
      break;
    case Activation::hardsigmoid:
      launch_fwd<act::HardSigmoid>(x, y, n, alpha, beta, s);
      break;
    case Activation::hardswish:
      launch_fwd<act::HardSwish>(x, y, n, alpha, beta, s);
      break;
    case Activation::sigmoid:
      launch_fwd<act::Sigmoid>(x, y, n, alpha, beta, s);
      break;
  }
  QF_CUDA_CHECK_LAUNCH();
}

void activation_backward(Activation a, float alpha, float beta, const float* x, const float* y,
                         const float* dy, float* dx, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  switch (a) {
    case Activation::relu:
      launch_bwd<act::Relu>(x, y, dy, dx, n, alpha, beta, s);
      break;
    case Activation::relu6:
      launch_bwd<act::Relu6>(x, y, dy, dx, n, alpha, beta, s);
      break;
    case Activation::hardsigmoid:
      launch_bwd<act::HardSigmoid>(x, y, dy, dx, n, alpha, beta, s);
      break;
    case Activation::hardswish:
      launch_bwd<act::HardSwish>(x, y, dy, dx, n, alpha, beta, s);
      break;
    case Activation::sigmoid:
      launch_bwd<act::Sigmoid>(x, y, dy, dx, n, alpha, beta, s);
      break;
  }
  QF_CUDA_CHECK_LAUNCH();
}

void dropout_apply(const float* a, float* b, int64_t n, const StepScalars* scalars,
                   uint64_t stream_id, uint32_t threshold, float scale, cudaStream_t s) {
  if (n == 0) return;
  dropout_kernel<<<grid_for(n, 4), kThreads, 0, s>>>(a, b, n, scalars, stream_id, threshold, scale);
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
