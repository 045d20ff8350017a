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

// Block-wide max of non-negative values (fixed tree; max is exact in any order anyway).
__device__ float block_max(float v) {
  __shared__ float sh[kThreads];
  sh[threadIdx.x] = v;
  __syncthreads();
  for (int h = kThreads / 2; h > 0; h /= 2) {
    if (threadIdx.x < h) sh[threadIdx.x] = fmaxf(sh[threadIdx.x], sh[threadIdx.x + h]);
    __syncthreads();
  }
  const float r = sh[0];
  __syncthreads();
  return r;
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

}  // namespace qf::cuda
