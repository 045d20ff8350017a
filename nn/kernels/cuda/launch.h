// The device utilities every CUDA kernel file may use, as plain launch functions (llm.c's
// style): each takes caller-owned device buffers and the stream, allocates nothing, and checks its
// launch. Each op's own launch functions are declared beside it, in nn/ops/<op>/<op>_cuda.h or
// quant/ops/<op>/<op>_cuda.h; the math of each op is stated once, in its folder, and its kernels
// follow it to the letter (same formulas, same tie and rounding rules; only summation order may
// differ).
//
// Layouts follow nn/layout.h: 4-D activations are channels-last, parameters row-major.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "nn/kernels/cuda/host_plans.h"
#include "nn/kernels/cuda/step_scalars.h"

namespace qf::cuda {

// --- tensor utilities (tensor_ops.cu) ---------------------------------------------------------
// cudaSuccess when this build's kernels can run on the current device (its compute capability
// is covered by the compiled architectures), else the error asking for them gave.
cudaError_t probe_kernels();
void add_inplace(float* dst, const float* src, int64_t n, cudaStream_t s);
void scale_copy(const float* src, float* dst, float scale, int64_t n, cudaStream_t s);

// The global-norm clip factor of the SGD update (nn/context.h sgd_clip_factor) into *factor:
// one partial sum of squares per chunk into partial[num_chunks], then their sum in a fixed order.
void grad_clip_factor(const float* g, const SgdChunk* chunks, int num_chunks, double* partial,
                      float grad_scale, float clip_norm, float* factor, cudaStream_t s);
// The fused SGD-with-momentum update over every chunk (math: nn/context.h SgdUpdate); the
// learning rate comes from scalars->lr, the clip factor from *clip (null: no clipping).
void sgd_momentum(float* p, const float* g, float* v, const SgdChunk* chunks, int num_chunks,
                  const StepScalars* scalars, const float* clip, float momentum, float weight_decay,
                  float grad_scale, bool nesterov, cudaStream_t s);

// --- per-channel reductions over (M, C) data, channel fastest (channel_ops.cu; conv2d, linear and
// batch_norm use them) ------------------------------------------------------------------------
// Reductions over the M rows run in two deterministic stages: `chunks` row chunks each write a
// partial result per channel, then one pass combines the chunks in order. How many chunks fill a
// GPU with `multiprocessors` SMs:
int reduction_chunks(int64_t M, int C, int multiprocessors);
// out[c] = sum over rows of x[r, c]; `partial` holds chunks * C floats.
void column_sums(const float* x, float* out, int64_t M, int C, int chunks, float* partial,
                 cudaStream_t s);
// y[r, c] += bias[c]
void add_channel_bias(float* y, const float* bias, int64_t M, int C, cudaStream_t s);

}  // namespace qf::cuda
