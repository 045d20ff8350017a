// Smaller kernels: flatten's per-sample transpose, per-channel bias, softmax cross-entropy,
// ONNX (de)quantization and the convolution weight layout change for cuDNN.
#include <cfloat>
#include <climits>
#include <cmath>

#include "nn/kernels/cuda/cuda_util.cuh"
#include "nn/kernels/cuda/launch.h"

namespace qf::cuda {
namespace {

__global__ void transpose_kernel(const float* __restrict__ src, float* __restrict__ dst, int64_t N,
                                 int64_t rows, int64_t cols) {
  const int64_t total = N * rows * cols;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    // i indexes dst = (n, col, row): consecutive threads write consecutive rows.
    const int64_t row = i % rows, t = i / rows, col = t % cols, n = t / cols;
    dst[i] = src[(n * rows + row) * cols + col];
  }
}

__global__ void bias_kernel(float* __restrict__ y, const float* __restrict__ b, int64_t n, int C) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) y[i] += b[i % C];
}

// One block per row.
__global__ void xent_rows(const float* __restrict__ z, const int32_t* __restrict__ labels,
                          int64_t K, float on, float off, float* __restrict__ max_out,
                          float* __restrict__ log_s_out, float* __restrict__ row_loss,
                          int32_t* __restrict__ bad) {
  __shared__ float sh[kThreads];
  const int64_t n = blockIdx.x;
  const float* row = z + n * K;
  float m = -FLT_MAX;
  for (int64_t k = threadIdx.x; k < K; k += kThreads) m = fmaxf(m, row[k]);
  m = block_max(m, sh);
  float se = 0.f, sz = 0.f;
  for (int64_t k = threadIdx.x; k < K; k += kThreads) {
    se += expf(row[k] - m);
    sz += row[k] - m;
  }
  se = block_sum(se, sh);
  sz = block_sum(sz, sh);
  if (threadIdx.x == 0) {
    const int32_t label = labels[n];
    const float log_s = logf(se);
    max_out[n] = m;
    log_s_out[n] = log_s;
    if (label < 0 || label >= K) {
      row_loss[n] = NAN;
      atomicMin(bad, static_cast<int32_t>(n));
    } else {
      row_loss[n] = log_s - (on * (row[label] - m) + off * sz);
    }
  }
}

__global__ void xent_mean(const float* __restrict__ row_loss, int64_t N, float* __restrict__ loss) {
  __shared__ double sh[kThreads];
  double s = 0;
  for (int64_t i = threadIdx.x; i < N; i += kThreads) s += row_loss[i];
  s = block_sum(s, sh);
  if (threadIdx.x == 0) loss[0] = static_cast<float>(s / static_cast<double>(N));
}

__global__ void xent_bwd(const float* __restrict__ z, const int32_t* __restrict__ labels,
                         const float* __restrict__ dloss, int64_t N, int64_t K, float on, float off,
                         const float* __restrict__ max, const float* __restrict__ log_s,
                         float* __restrict__ dz) {
  const float g = dloss[0] / static_cast<float>(N);
  for (int64_t i = global_thread(); i < N * K; i += grid_threads()) {
    const int64_t n = i / K, k = i % K;
    float d = g * (expf(z[i] - max[n] - log_s[n]) - off);
    if (k == labels[n]) d -= g * on;
    dz[i] = d;
  }
}

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

void batched_transpose(const float* src, float* dst, int64_t N, int64_t rows, int64_t cols,
                       cudaStream_t s) {
  const int64_t n = N * rows * cols;
  if (n == 0) return;
  transpose_kernel<<<grid_for(n, 2), kThreads, 0, s>>>(src, dst, N, rows, cols);
  QF_CUDA_CHECK_LAUNCH();
}

void add_channel_bias(float* y, const float* bias, int64_t M, int C, cudaStream_t s) {
  const int64_t n = M * C;
  if (n == 0) return;
  bias_kernel<<<grid_for(n, 4), kThreads, 0, s>>>(y, bias, n, C);
  QF_CUDA_CHECK_LAUNCH();
}

void softmax_xent_forward(const float* z, const int32_t* labels, int64_t N, int64_t K, float on,
                          float off, float* max, float* log_s, float* row_loss, float* loss,
                          int32_t* bad, cudaStream_t s) {
  xent_rows<<<static_cast<unsigned>(N), kThreads, 0, s>>>(z, labels, K, on, off, max, log_s,
                                                          row_loss, bad);
  QF_CUDA_CHECK_LAUNCH();
  xent_mean<<<1, kThreads, 0, s>>>(row_loss, N, loss);
  QF_CUDA_CHECK_LAUNCH();
}

void softmax_xent_backward(const float* z, const int32_t* labels, const float* dloss, int64_t N,
                           int64_t K, float on, float off, const float* max, const float* log_s,
                           float* dz, cudaStream_t s) {
  xent_bwd<<<grid_for(N * K, 2), kThreads, 0, s>>>(z, labels, dloss, N, K, on, off, max, log_s, dz);
  QF_CUDA_CHECK_LAUNCH();
}

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
