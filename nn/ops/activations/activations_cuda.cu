// The activations' CUDA kernels (math: activations_math.h, shared with the CPU kernels).
#include "nn/kernels/cuda/cuda_util.cuh"
#include "nn/ops/activations/activations_cuda.h"
#include "nn/ops/activations/activations_math.h"

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

}  // namespace qf::cuda
