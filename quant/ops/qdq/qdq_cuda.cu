// quantize_linear / dequantize_linear's CUDA kernels (ONNX semantics: qdq.cpp): x viewed as
// (outer, axis_len, inner), rounding half to even and saturating to the integer type.
#include "nn/kernels/cuda/cuda_util.cuh"
#include "quant/ops/qdq/qdq_cuda.h"

namespace qf::cuda {
namespace {

template <class Q>
__global__ void quantize_kernel(const float* __restrict__ x, const float* __restrict__ scale,
                                const Q* __restrict__ zp, Q* __restrict__ q, int64_t n,
                                int64_t axis_len, int64_t inner, float lo, float hi) {
  for (int64_t k = global_thread(); k < n; k += grid_threads()) {
    const int64_t a = axis_len > 1 ? (k / inner) % axis_len : 0;
    const float z = zp ? static_cast<float>(zp[a]) : 0.f;
    const float v = rintf(x[k] / scale[a]) + z;  // half to even, as ONNX (and nearbyint)
    q[k] = static_cast<Q>(v < lo ? lo : (v > hi ? hi : v));
  }
}

template <class Q>
__global__ void dequantize_kernel(const Q* __restrict__ q, const float* __restrict__ scale,
                                  const Q* __restrict__ zp, float* __restrict__ x, int64_t n,
                                  int64_t axis_len, int64_t inner) {
  for (int64_t k = global_thread(); k < n; k += grid_threads()) {
    const int64_t a = axis_len > 1 ? (k / inner) % axis_len : 0;
    const int32_t z = zp ? static_cast<int32_t>(zp[a]) : 0;
    x[k] = static_cast<float>(static_cast<int32_t>(q[k]) - z) * scale[a];
  }
}

template <class Q>
void launch_quantize(const float* x, const float* scale, const void* zp, void* q, int64_t n,
                     int64_t axis_len, int64_t inner, float lo, float hi, cudaStream_t s) {
  quantize_kernel<Q><<<grid_for(n, 4), kThreads, 0, s>>>(
      x, scale, static_cast<const Q*>(zp), static_cast<Q*>(q), n, axis_len, inner, lo, hi);
}

template <class Q>
void launch_dequantize(const void* q, const float* scale, const void* zp, float* x, int64_t n,
                       int64_t axis_len, int64_t inner, cudaStream_t s) {
  dequantize_kernel<Q><<<grid_for(n, 4), kThreads, 0, s>>>(
      static_cast<const Q*>(q), scale, static_cast<const Q*>(zp), x, n, axis_len, inner);
}

}  // namespace

void quantize_linear(const float* x, const float* scale, const void* zp, void* q, int qtype,
                     int64_t outer, int64_t axis_len, int64_t inner, cudaStream_t s) {
  const int64_t n = outer * axis_len * inner;
  if (n == 0) return;
  switch (qtype) {
    case 0:
      launch_quantize<int8_t>(x, scale, zp, q, n, axis_len, inner, -128.f, 127.f, s);
      break;
    case 1:
      launch_quantize<uint8_t>(x, scale, zp, q, n, axis_len, inner, 0.f, 255.f, s);
      break;
    default:
      launch_quantize<int16_t>(x, scale, zp, q, n, axis_len, inner, -32768.f, 32767.f, s);
  }
  QF_CUDA_CHECK_LAUNCH();
}

void dequantize_linear(const void* q, const float* scale, const void* zp, float* x, int qtype,
                       int64_t outer, int64_t axis_len, int64_t inner, cudaStream_t s) {
  const int64_t n = outer * axis_len * inner;
  if (n == 0) return;
  switch (qtype) {
    case 0:
      launch_dequantize<int8_t>(q, scale, zp, x, n, axis_len, inner, s);
      break;
    case 1:
      launch_dequantize<uint8_t>(q, scale, zp, x, n, axis_len, inner, s);
      break;
    case 2:
      launch_dequantize<int16_t>(q, scale, zp, x, n, axis_len, inner, s);
      break;
    default:
      launch_dequantize<int32_t>(q, scale, zp, x, n, axis_len, inner, s);
  }
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
