// Fake-quant primitives of quant-aware training (PaddleSlim semantics,
// ../shared/reference/paddleslim-semantics.md §0-§1): the abs-max reduction and the fused
// quantize-dequantize, per tensor and per channel. The fake-quant op kernels (quant/ops, issue 4)
// and the bandwidth benchmark (bench/cuda_fake_quant_bench.cpp) are built on these.
//
//   bnt = 2^(bits-1) - 1;  inv(T) = 1 / (T + 1e-6) if T <= 1e-30, else 1 / T
//   round_type 1 (ties away from zero, Paddle's default for the fake_* ops):
//       v = clip(x, -T, T);  y = round(bnt * inv(T) * v) * T / bnt
//   round_type 0 (ties to even):
//       q = clip(rint(bnt * inv(T) * x), -bnt - 1, bnt);  y = q * T / bnt
// (the same operation order as Paddle's CUDA functors.)
//
// Memory traffic: per tensor the scale must be known before any element is quantized, so x is
// read twice (abs-max pass, quantize pass) and y written once. Per channel a single launch does
// both: one block owns a channel, reduces its abs max, writes the scale and quantizes the channel,
// whose second read mostly hits L2 (a channel of a 64M-element tensor split 1024 ways is 256 KB).
//
// State updates (the op kernels in fake_quant_cuda.cpp): the EMA of moving_average_abs_max and the
// window of range_abs_max run as single-block kernels on device scalars, so a training step never
// reads a scale back to the host and stays recordable as a CUDA graph. Their float arithmetic is
// written with explicit round-to-nearest intrinsics (no fused multiply-add), as the CPU computes
// it. PACT and the BatchNorm-folding ops (quant/ops/pact.cpp, quant/ops/bn_fold_ops.cpp) are here
// too; their reductions (dalpha, dgamma) run in a fixed order, so results are deterministic.
#include <cfloat>

#include "nn/kernels/cuda/cuda_util.cuh"
#include "nn/kernels/cuda/launch.h"

namespace qf::cuda {
namespace {

__device__ inline float inv_scale(float t) {
  return t <= 1e-30f ? 1.f / (t + 1e-6f) : 1.f / t;
}

__device__ inline float qdq(float x, float t, float bnt, float k, int round_type) {
  if (round_type == 0) {
    float q = rintf(k * x);
    q = fminf(fmaxf(q, -bnt - 1.f), bnt);
    return q * t / bnt;
  }
  const float v = fminf(fmaxf(x, -t), t);
  return roundf(k * v) * t / bnt;
}

// Block-wide max of non-negative values (max is exact in any order anyway).
__device__ float block_max(float v) {
  __shared__ float sh[kThreads];
  return qf::cuda::block_max(v, sh);
}

// max |x| into *out (zeroed before the launch). Non-negative floats order like their bit
// patterns, so an integer atomicMax merges the blocks' results exactly.
__global__ void abs_max_kernel(const float* __restrict__ x, int64_t n, float* __restrict__ out) {
  float m = 0.f;
  const int64_t n4 = (reinterpret_cast<uintptr_t>(x) % 16 == 0) ? n / 4 : 0;
  const float4* x4 = reinterpret_cast<const float4*>(x);
  for (int64_t i = global_thread(); i < n4; i += grid_threads()) {
    const float4 v = x4[i];
    m = fmaxf(m, fmaxf(fmaxf(fabsf(v.x), fabsf(v.y)), fmaxf(fabsf(v.z), fabsf(v.w))));
  }
  for (int64_t i = n4 * 4 + global_thread(); i < n; i += grid_threads()) m = fmaxf(m, fabsf(x[i]));
  m = block_max(m);
  if (threadIdx.x == 0) atomicMax(reinterpret_cast<int*>(out), __float_as_int(m));
}

__global__ void qdq_tensor_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n,
                                  const float* __restrict__ scale, float bnt, int round_type) {
  const float t = *scale, k = bnt * inv_scale(t);
  const bool aligned = (reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(y)) % 16 == 0;
  const int64_t n4 = aligned ? n / 4 : 0;
  const float4* x4 = reinterpret_cast<const float4*>(x);
  float4* y4 = reinterpret_cast<float4*>(y);
  for (int64_t i = global_thread(); i < n4; i += grid_threads()) {
    const float4 v = x4[i];
    y4[i] = make_float4(qdq(v.x, t, bnt, k, round_type), qdq(v.y, t, bnt, k, round_type),
                        qdq(v.z, t, bnt, k, round_type), qdq(v.w, t, bnt, k, round_type));
  }
  for (int64_t i = n4 * 4 + global_thread(); i < n; i += grid_threads())
    y[i] = qdq(x[i], t, bnt, k, round_type);
}

// One block per channel (grid-stride over channels); x viewed as (outer, channels, inner).
__global__ void qdq_channel_kernel(const float* __restrict__ x, float* __restrict__ y,
                                   int64_t outer, int64_t channels, int64_t inner,
                                   float* __restrict__ scale, float bnt, int round_type) {
  for (int64_t c = blockIdx.x; c < channels; c += gridDim.x) {
    float m = 0.f;
    for (int64_t o = 0; o < outer; ++o) {
      const float* xs = x + (o * channels + c) * inner;
      for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) m = fmaxf(m, fabsf(xs[i]));
    }
    const float t = block_max(m), k = bnt * inv_scale(t);
    if (threadIdx.x == 0) scale[c] = t;
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t base = (o * channels + c) * inner;
      for (int64_t i = threadIdx.x; i < inner; i += blockDim.x)
        y[base + i] = qdq(x[base + i], t, bnt, k, round_type);
    }
  }
}

// Block-wide sum in double (fixed tree).
__device__ double block_sum(double v) {
  __shared__ double sh[kThreads];
  return qf::cuda::block_sum(v, sh);
}

// quant/ops/fake_quant.h EmaUpdate, one thread.
__global__ void ema_update_kernel(const float* __restrict__ m, float rate, float* scale,
                                  float* state, float* accum) {
  const float st = __fadd_rn(__fmul_rn(rate, *state), 1.f);
  const float ac = __fadd_rn(__fmul_rn(rate, *accum), *m);
  *state = st;
  *accum = ac;
  *scale = __fdiv_rn(ac, st);
}

// quant/ops/fake_quant.h range_abs_max_update, one block; the iteration is scalars->step + 1.
__global__ void range_update_kernel(const float* __restrict__ m_ptr, float* scale, float* window,
                                    int64_t W, const StepScalars* __restrict__ scalars) {
  const int64_t it = scalars->step + 1;
  const int64_t idx = it % W;
  const float m = *m_ptr, last = *scale, removed = window[idx];
  __syncthreads();
  if (threadIdx.x == 0) window[idx] = m;
  __syncthreads();
  float r = last;
  if (last < m) {
    r = m;
  } else if (fabsf(removed - last) < 1e-6f) {  // the same branch in every thread
    const int64_t size = it > W ? W : it;
    float mx = 0.f;
    for (int64_t i = threadIdx.x; i < size; i += blockDim.x) mx = fmaxf(mx, fabsf(window[i]));
    r = block_max(mx);
  }
  if (threadIdx.x == 0) *scale = r;
}

__global__ void pact_forward_kernel(const float* __restrict__ x, const float* __restrict__ alpha,
                                    float* __restrict__ y, int64_t n) {
  const float a = *alpha;
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    y[i] = x[i] < -a ? -a : (x[i] > a ? a : x[i]);
}

// dx (optional) and per-block partial sums of dalpha (optional).
__global__ void pact_backward_kernel(const float* __restrict__ x, const float* __restrict__ alpha,
                                     const float* __restrict__ dy, float* __restrict__ dx,
                                     double* __restrict__ partial, int64_t n) {
  const float a = *alpha;
  double da = 0;
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const float v = x[i], g = dy[i];
    da += v > a ? g : (v < -a ? -g : 0.f);
    if (dx) dx[i] = v >= -a && v <= a ? g : 0.f;
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

// k[c] = gamma[c] / sqrt(var[c] + eps)
__global__ void fold_k_kernel(const float* __restrict__ gamma, const float* __restrict__ var,
                              float eps, float* __restrict__ k, int64_t C) {
  for (int64_t c = global_thread(); c < C; c += grid_threads())
    k[c] = __fdiv_rn(gamma[c], __fsqrt_rn(__fadd_rn(var[c], eps)));
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
    if (threadIdx.x == 0) {
      const float a = static_cast<float>(acc), sd = __fsqrt_rn(__fadd_rn(var[c], eps));
      dgamma[c] = weight ? a / sd : -a * sd / (gamma[c] * gamma[c]);
    }
  }
}

float bnt_of(int bits) {
  return static_cast<float>((1 << (bits - 1)) - 1);
}

}  // namespace

void abs_max(const float* x, int64_t n, float* out, cudaStream_t s) {
  QF_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float), s));
  if (n == 0) return;
  abs_max_kernel<<<grid_for(n, 16), kThreads, 0, s>>>(x, n, out);
  QF_CUDA_CHECK_LAUNCH();
}

void fake_quant_dequant(const float* x, float* y, int64_t n, const float* scale, int bits,
                        int round_type, cudaStream_t s) {
  if (n == 0) return;
  qdq_tensor_kernel<<<grid_for(n, 16), kThreads, 0, s>>>(x, y, n, scale, bnt_of(bits), round_type);
  QF_CUDA_CHECK_LAUNCH();
}

void channel_fake_quant_dequant(const float* x, float* y, int64_t outer, int64_t channels,
                                int64_t inner, float* scale, int bits, int round_type,
                                cudaStream_t s) {
  if (channels == 0) return;
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(channels, 1 << 16));
  qdq_channel_kernel<<<blocks, kThreads, 0, s>>>(x, y, outer, channels, inner, scale, bnt_of(bits),
                                                 round_type);
  QF_CUDA_CHECK_LAUNCH();
}

void ema_update(const float* m, float rate, float* scale, float* state, float* accum,
                cudaStream_t s) {
  ema_update_kernel<<<1, 1, 0, s>>>(m, rate, scale, state, accum);
  QF_CUDA_CHECK_LAUNCH();
}

void range_abs_max_update(const float* m, float* scale, float* window, int64_t window_size,
                          const StepScalars* scalars, cudaStream_t s) {
  range_update_kernel<<<1, kThreads, 0, s>>>(m, scale, window, window_size, scalars);
  QF_CUDA_CHECK_LAUNCH();
}

unsigned pact_blocks(int64_t n) {
  return std::min(grid_for(n, 4), 1024u);
}

void pact_forward(const float* x, const float* alpha, float* y, int64_t n, cudaStream_t s) {
  if (n == 0) return;
  pact_forward_kernel<<<pact_blocks(n), kThreads, 0, s>>>(x, alpha, y, n);
  QF_CUDA_CHECK_LAUNCH();
}

void pact_backward(const float* x, const float* alpha, const float* dy, float* dx, float* dalpha,
                   double* partial, int64_t n, cudaStream_t s) {
  const unsigned blocks = pact_blocks(n);
  pact_backward_kernel<<<blocks, kThreads, 0, s>>>(x, alpha, dy, dx, dalpha ? partial : nullptr,
                                                   n);
  QF_CUDA_CHECK_LAUNCH();
  if (!dalpha) return;
  sum_partials_kernel<<<1, kThreads, 0, s>>>(partial, static_cast<int>(blocks), dalpha);
  QF_CUDA_CHECK_LAUNCH();
}

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
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>(std::max<int64_t>(C, 1), 1 << 16));
  fold_dgamma_kernel<<<blocks, kThreads, 0, s>>>(x, dout, gamma, var, eps, outer, C, inner, weight,
                                                 dgamma);
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
