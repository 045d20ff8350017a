// Device building blocks of the per-channel reductions over (M, C) channels-last data (included
// by channel_ops.cu and by batch_norm's kernels). Two fixed-order stages, so results do not depend
// on scheduling: stage 1, a grid of (channel tiles of 32) x (row chunks), each block of 32 x 8
// threads walking its chunk's rows with the channel fastest (coalesced) and merging its 8 row
// lanes in order; stage 2, one thread per channel merging the chunks in order.
#pragma once

#include "nn/kernels/cuda/cuda_util.cuh"

namespace qf::cuda {
namespace {

constexpr int kTile = 32, kLanes = 8;

struct Rows {
  int64_t begin, end;
};
__device__ inline Rows chunk_rows(int64_t M) {
  const int64_t per = (M + gridDim.y - 1) / gridDim.y;
  const int64_t b = blockIdx.y * per;
  return {b, min(M, b + per)};
}

// Sums of dy and dy * (x - mean) per channel (x may be null: plain column sums of dy).
__global__ void sums_stage1(const float* __restrict__ dy, const float* __restrict__ x,
                            const float* __restrict__ mean, int64_t M, int C, int width,
                            float* __restrict__ partial) {
  __shared__ float s0[kLanes][kTile + 1], s1[kLanes][kTile + 1];
  const int c = blockIdx.x * kTile + threadIdx.x;
  const Rows r = chunk_rows(M);
  float a = 0.f, b = 0.f;
  if (c < C) {
    const float mu = x ? mean[c] : 0.f;
    for (int64_t i = r.begin + threadIdx.y; i < r.end; i += kLanes) {
      const float d = dy[i * C + c];
      a += d;
      if (x) b += d * (x[i * C + c] - mu);
    }
  }
  s0[threadIdx.y][threadIdx.x] = a;
  s1[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float ta = 0.f, tb = 0.f;
    for (int l = 0; l < kLanes; ++l) {
      ta += s0[l][threadIdx.x];
      tb += s1[l][threadIdx.x];
    }
    float* p = partial + (static_cast<int64_t>(blockIdx.y) * C + c) * width;
    p[0] = ta;
    if (width > 1) p[1] = tb;
  }
}

dim3 stage1_grid(int C, int chunks) {
  return dim3(static_cast<unsigned>((C + kTile - 1) / kTile), static_cast<unsigned>(chunks));
}
unsigned per_channel_blocks(int C) {
  return static_cast<unsigned>((C + kThreads - 1) / kThreads);
}

}  // namespace
}  // namespace qf::cuda
