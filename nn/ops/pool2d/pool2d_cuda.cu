// max / avg pooling on channels-last tensors, with the window, tie
// and divisor rules of nn/ops/pool2d/pool2d_ref.h: the window of output (oh, ow) starts at
// (oh*sh - pt, ow*sw - pl); only data elements count; max takes the FIRST maximum in row-major
// window order; avg divides by the data count, or (count_include_pad) by the window clipped to
// the explicitly padded input. Forward: one thread per output element (channel fastest, so
// neighbouring threads read neighbouring channels). Backward: one thread per input element,
// gathering from the outputs whose windows hold it — no atomics, deterministic.
#include "nn/kernels/cuda/cuda_util.cuh"
#include "nn/ops/pool2d/pool2d_cuda.h"

namespace qf::cuda {
namespace {

struct Window {
  int hs, ws, h0, h1, w0, w1;
};

__device__ inline Window window_of(const PoolDims& d, int oh, int ow) {
  const int hs = oh * d.sh - d.pt, ws = ow * d.sw - d.pl;
  return {hs, ws, max(hs, 0), min(hs + d.KH, d.H), max(ws, 0), min(ws + d.KW, d.W)};
}

__device__ inline int divisor_of(const PoolDims& d, const Window& w) {
  if (!d.count_include_pad) return (w.h1 - w.h0) * (w.w1 - w.w0);
  return (min(w.hs + d.KH, d.H + d.pb) - w.hs) * (min(w.ws + d.KW, d.W + d.pr) - w.ws);
}

// Output rows whose windows contain input row h: oh*sh - pt <= h < oh*sh - pt + KH.
__device__ inline void covering(int h, int stride, int pad, int k, int out, int& lo, int& hi) {
  const int a = h + pad - k + 1;  // oh*stride >= a
  lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  hi = min((h + pad) / stride, out - 1);  // inclusive
}

__global__ void max_fwd(PoolDims d, const float* __restrict__ x, float* __restrict__ y,
                        int32_t* __restrict__ argmax) {
  const int64_t total = int64_t{d.N} * d.OH * d.OW * d.C;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int c = static_cast<int>(i % d.C);
    int64_t r = i / d.C;
    const int ow = static_cast<int>(r % d.OW);
    r /= d.OW;
    const int oh = static_cast<int>(r % d.OH);
    const int n = static_cast<int>(r / d.OH);
    const Window w = window_of(d, oh, ow);
    const float* xs = x + int64_t{n} * d.H * d.W * d.C + c;
    int best = w.h0 * d.W + w.w0;
    float bv = xs[int64_t{best} * d.C];
    for (int h = w.h0; h < w.h1; ++h)
      for (int v = w.w0; v < w.w1; ++v) {
        const float xv = xs[(int64_t{h} * d.W + v) * d.C];
        if (xv > bv) {
          bv = xv;
          best = h * d.W + v;
        }
      }
    y[i] = bv;
    if (argmax) argmax[i] = best;
  }
}

__global__ void max_bwd(PoolDims d, const int32_t* __restrict__ argmax,
                        const float* __restrict__ dy, float* __restrict__ dx) {
  const int64_t total = int64_t{d.N} * d.H * d.W * d.C;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int c = static_cast<int>(i % d.C);
    int64_t r = i / d.C;
    const int w = static_cast<int>(r % d.W);
    r /= d.W;
    const int h = static_cast<int>(r % d.H);
    const int n = static_cast<int>(r / d.H);
    int oh0, oh1, ow0, ow1;
    covering(h, d.sh, d.pt, d.KH, d.OH, oh0, oh1);
    covering(w, d.sw, d.pl, d.KW, d.OW, ow0, ow1);
    const int me = h * d.W + w;
    float acc = 0.f;
    for (int oh = oh0; oh <= oh1; ++oh)
      for (int ow = ow0; ow <= ow1; ++ow) {
        const int64_t o = ((int64_t{n} * d.OH + oh) * d.OW + ow) * d.C + c;
        if (argmax[o] == me) acc += dy[o];
      }
    dx[i] = acc;
  }
}

__global__ void avg_fwd(PoolDims d, const float* __restrict__ x, float* __restrict__ y) {
  const int64_t total = int64_t{d.N} * d.OH * d.OW * d.C;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int c = static_cast<int>(i % d.C);
    int64_t r = i / d.C;
    const int ow = static_cast<int>(r % d.OW);
    r /= d.OW;
    const int oh = static_cast<int>(r % d.OH);
    const int n = static_cast<int>(r / d.OH);
    const Window w = window_of(d, oh, ow);
    const float* xs = x + int64_t{n} * d.H * d.W * d.C + c;
    float s = 0.f;
    for (int h = w.h0; h < w.h1; ++h)
      for (int v = w.w0; v < w.w1; ++v) s += xs[(int64_t{h} * d.W + v) * d.C];
    y[i] = s / static_cast<float>(divisor_of(d, w));
  }
}

__global__ void avg_bwd(PoolDims d, const float* __restrict__ dy, float* __restrict__ dx) {
  const int64_t total = int64_t{d.N} * d.H * d.W * d.C;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int c = static_cast<int>(i % d.C);
    int64_t r = i / d.C;
    const int w = static_cast<int>(r % d.W);
    r /= d.W;
    const int h = static_cast<int>(r % d.H);
    const int n = static_cast<int>(r / d.H);
    int oh0, oh1, ow0, ow1;
    covering(h, d.sh, d.pt, d.KH, d.OH, oh0, oh1);
    covering(w, d.sw, d.pl, d.KW, d.OW, ow0, ow1);
    float acc = 0.f;
    for (int oh = oh0; oh <= oh1; ++oh)
      for (int ow = ow0; ow <= ow1; ++ow) {
        const Window win = window_of(d, oh, ow);
        const int64_t o = ((int64_t{n} * d.OH + oh) * d.OW + ow) * d.C + c;
        acc += dy[o] / static_cast<float>(divisor_of(d, win));
      }
    dx[i] = acc;
  }
}

}  // namespace

void max_pool2d_forward(const PoolDims& d, const float* x, float* y, int32_t* argmax,
                        cudaStream_t s) {
  const int64_t n = int64_t{d.N} * d.OH * d.OW * d.C;
  if (n == 0) return;
  max_fwd<<<grid_for(n), kThreads, 0, s>>>(d, x, y, argmax);
  QF_CUDA_CHECK_LAUNCH();
}

void max_pool2d_backward(const PoolDims& d, const int32_t* argmax, const float* dy, float* dx,
                         cudaStream_t s) {
  const int64_t n = int64_t{d.N} * d.H * d.W * d.C;
  if (n == 0) return;
  max_bwd<<<grid_for(n), kThreads, 0, s>>>(d, argmax, dy, dx);
  QF_CUDA_CHECK_LAUNCH();
}

void avg_pool2d_forward(const PoolDims& d, const float* x, float* y, cudaStream_t s) {
  const int64_t n = int64_t{d.N} * d.OH * d.OW * d.C;
  if (n == 0) return;
  avg_fwd<<<grid_for(n), kThreads, 0, s>>>(d, x, y);
  QF_CUDA_CHECK_LAUNCH();
}

void avg_pool2d_backward(const PoolDims& d, const float* dy, float* dx, cudaStream_t s) {
  const int64_t n = int64_t{d.N} * d.H * d.W * d.C;
  if (n == 0) return;
  avg_bwd<<<grid_for(n), kThreads, 0, s>>>(d, dy, dx);
  QF_CUDA_CHECK_LAUNCH();
}

}  // namespace qf::cuda
