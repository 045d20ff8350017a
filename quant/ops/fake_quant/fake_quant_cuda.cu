// The fake-quant primitives on the GPU: the abs-max reduction and the fused quantize-dequantize,
// per tensor and per channel, and the scale updates of moving_average_abs_max and range_abs_max.
// Every formula is fake_quant_math.h's, the one the CPU kernels use; these kernels only choose how
// threads walk the data and reduce. The op kernels (fake_quant_cuda.cpp) and the bandwidth
// benchmark (bench/cuda_fake_quant_bench.cpp) are built on these. round_type 1 is Paddle's default
// for the fake_* ops (fake_qdq); 0 (ties to even, fake_qdq_round_even) is for the benchmark.
//
// Memory traffic: per tensor the scale must be known before any element is quantized, so x is
// read twice (abs-max pass, quantize pass) and y written once. Per channel a single launch does
// both: one block owns a channel, reduces its abs max, writes the scale and quantizes the channel,
// whose second read mostly hits L2 (a channel of a 64M-element tensor split 1024 ways is 256 KB).
//
// State updates run as single-block kernels on device scalars, so a training step never reads a
// scale back to the host and stays recordable as a CUDA graph.
#include <cfloat>

#include "nn/kernels/cuda/cuda_util.cuh"
#include "quant/ops/fake_quant/fake_quant_cuda.h"
#include "quant/ops/fake_quant/fake_quant_math.h"

namespace qf::cuda {
namespace {

__device__ inline float qdq(float x, float t, float bnt, float k, int round_type) {
  return round_type == 0 ? fake_qdq_round_even(x, t, k, bnt) : fake_qdq(x, t, k, bnt);
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
  const float t = *scale, k = bnt * inverse_threshold(t);
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
    const float t = block_max(m), k = bnt * inverse_threshold(t);
    if (threadIdx.x == 0) scale[c] = t;
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t base = (o * channels + c) * inner;
      for (int64_t i = threadIdx.x; i < inner; i += blockDim.x)
        y[base + i] = qdq(x[base + i], t, bnt, k, round_type);
    }
  }
}

// fake_quant_math.h ema_scale_update, one thread.
__global__ void ema_update_kernel(const float* __restrict__ m, float rate, float* scale,
                                  float* state, float* accum) {
  float sc = 0.f, st = *state, ac = *accum;
  ema_scale_update(rate, *m, sc, st, ac);
  *state = st;
  *accum = ac;
  *scale = sc;
}

// fake_quant_math.h's range_abs_max update, one block; the iteration is scalars->step + 1.
__global__ void range_update_kernel(const float* __restrict__ m_ptr, float* scale, float* window,
                                    int64_t W, const StepScalars* __restrict__ scalars) {
  const int64_t it = scalars->step + 1;
  const int64_t slot = range_window_slot(it, W);
  const float m = *m_ptr, last = *scale, removed = window[slot];
  __syncthreads();
  if (threadIdx.x == 0) window[slot] = m;
  __syncthreads();
  // The same branch in every thread, so the block-wide max is reached by all of them.
  const float r = range_abs_max_next(last, m, removed, [&] {
    const int64_t filled = range_window_filled(it, W);
    float mx = 0.f;
    for (int64_t i = threadIdx.x; i < filled; i += blockDim.x) mx = fmaxf(mx, fabsf(window[i]));
    return block_max(mx);
  });
  if (threadIdx.x == 0) *scale = r;
}

float bnt_of(int bits) {
  return static_cast<float>(quant_bin_count(bits));
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

}  // namespace qf::cuda
