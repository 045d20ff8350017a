// The GPU kernels of the CUDA backend as plain launch functions (llm.c's style): each takes
// caller-owned device buffers and the stream, allocates nothing, and checks its launch. The op
// kernels (the Kernel classes in the *_cuda.cpp files) call these; the math of each op is stated
// once, in its op header or file under nn/ops and quant/ops, and the kernels here follow it to the
// letter (same formulas, same tie and rounding rules; only summation order may differ).
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

// --- pointwise (pointwise.cu) -------------------------------------------------------------------
enum class Activation : int { relu, relu6, hardsigmoid, hardswish, sigmoid };
void activation_forward(Activation a, float alpha, float beta, const float* x, float* y, int64_t n,
                        cudaStream_t s);
void activation_backward(Activation a, float alpha, float beta, const float* x, const float* y,
                         const float* dy, float* dx, int64_t n, cudaStream_t s);
// b[i] = keep(i) ? a[i] * scale : 0 with the counter-based mask of nn/kernels/counter_rng.h, key
// rng_key(scalars->seed, scalars->step, stream_id).
void dropout_apply(const float* a, float* b, int64_t n, const StepScalars* scalars,
                   uint64_t stream_id, uint32_t threshold, float scale, cudaStream_t s);

// --- broadcast add / mul (elementwise.cu) -----------------------------------------------------
void broadcast_forward(bool mul, const float* a, const float* b, float* y, const BroadcastWalk& w,
                       cudaStream_t s);
// Gradient of one operand x (the other is `other`, read only for mul): dx = sum over the dims x
// is broadcast along of dy (* other). `w` is the walk with x as operand a and the other as b.
void broadcast_backward(bool mul, const float* dy, const float* other, float* dx,
                        const BroadcastWalk& w, int64_t numel_x, cudaStream_t s);
void mul_same(const float* a, const float* b, float* y, int64_t n, cudaStream_t s);
void add_same(const float* a, const float* b, float* y, int64_t n, cudaStream_t s);

// --- pooling (pool2d.cu) ------------------------------------------------------------------------
struct PoolDims {
  int N, C, H, W, KH, KW, sh, sw, pt, pl, pb, pr, OH, OW;
  bool count_include_pad;
};
// argmax (optional) receives, per output, the input position h * W + w of the window's first max.
void max_pool2d_forward(const PoolDims& d, const float* x, float* y, int32_t* argmax,
                        cudaStream_t s);
void max_pool2d_backward(const PoolDims& d, const int32_t* argmax, const float* dy, float* dx,
                         cudaStream_t s);
void avg_pool2d_forward(const PoolDims& d, const float* x, float* y, cudaStream_t s);
void avg_pool2d_backward(const PoolDims& d, const float* dy, float* dx, cudaStream_t s);
void global_avg_pool_forward(const float* x, float* y, int N, int C, int HW, cudaStream_t s);
void global_avg_pool_backward(const float* dy, float* dx, int N, int C, int HW, cudaStream_t s);

// --- per-channel reductions and batch norm (batch_norm.cu); x is (M, C), channel fastest -------
// Reductions over the M rows run in two deterministic stages: `chunks` row chunks each write a
// partial result per channel, then one pass combines the chunks in order. How many chunks fill a
// GPU with `multiprocessors` SMs:
int reduction_chunks(int64_t M, int C, int multiprocessors);
// out[c] = sum over rows of x[r, c]; `partial` holds chunks * C floats.
void column_sums(const float* x, float* out, int64_t M, int C, int chunks, float* partial,
                 cudaStream_t s);
// y[r, c] += bias[c]
void add_channel_bias(float* y, const float* bias, int64_t M, int C, cudaStream_t s);
// Batch statistics (nn/ops/batch_norm.h): mean and biased variance per channel in one pass
// (Welford per thread, merged in a fixed order), the running statistics updated with momentum m
// (running_var with the unbiased variance * M / (M - 1)), istd = 1 / sqrt(var + eps) and
// scale = gamma * istd. `partial` holds 3 * chunks * C floats.
void bn_batch_stats(const float* x, int64_t M, int C, int chunks, const float* gamma,
                    float* running_mean, float* running_var, float momentum, float eps, float* mean,
                    float* istd, float* scale, float* partial, cudaStream_t s);
// Running statistics as the normalisation (eval, frozen statistics): mean, istd, scale from them.
void bn_running_stats(int C, const float* gamma, const float* running_mean,
                      const float* running_var, float eps, float* mean, float* istd, float* scale,
                      cudaStream_t s);
// y = (x - mean[c]) * scale[c] + beta[c]
void bn_apply(const float* x, float* y, int64_t M, int C, const float* mean, const float* scale,
              const float* beta, cudaStream_t s);
// Backward with the statistics the forward used: dbeta = sum dy, dgamma = sum dy * xhat,
// xhat = (x - mean) * istd (both required, the caller passes scratch when it needs neither), then
// dx (when not null) = gamma * istd * (dy - dbeta / M - xhat * dgamma / M) with batch statistics,
// or gamma * istd * dy with constant ones. `partial`: 2 * chunks * C floats.
void bn_backward(const float* x, const float* dy, float* dx, int64_t M, int C, int chunks,
                 const float* gamma, const float* mean, const float* istd, bool batch_stats,
                 float* dgamma, float* dbeta, float* partial, cudaStream_t s);

// --- misc (misc.cu) -----------------------------------------------------------------------------
// Per sample: dst (cols, rows) = transpose of src (rows, cols); N samples.
void batched_transpose(const float* src, float* dst, int64_t N, int64_t rows, int64_t cols,
                       cudaStream_t s);
// Cross-entropy of softmax(z) against label-smoothed targets (nn/ops/softmax_cross_entropy.cpp).
// Per row: max[n], log_s[n], row_loss[n]; then loss[0] = mean of row_loss in a fixed order. A
// label outside [0, K) makes its row's loss NaN and records its position in *bad (atomicMin;
// initialise to INT32_MAX).
void softmax_xent_forward(const float* z, const int32_t* labels, int64_t N, int64_t K, float on,
                          float off, float* max, float* log_s, float* row_loss, float* loss,
                          int32_t* bad, cudaStream_t s);
void softmax_xent_backward(const float* z, const int32_t* labels, const float* dloss, int64_t N,
                           int64_t K, float on, float off, const float* max, const float* log_s,
                           float* dz, cudaStream_t s);
// ONNX QuantizeLinear / DequantizeLinear (quant/ops/qdq_ops.cpp): x viewed as (outer, axis_len,
// inner); per-tensor when axis_len == 1. `qtype`: 0 int8, 1 uint8, 2 int16, 3 int32 (dequantize).
void quantize_linear(const float* x, const float* scale, const void* zp, void* q, int qtype,
                     int64_t outer, int64_t axis_len, int64_t inner, cudaStream_t s);
void dequantize_linear(const void* q, const float* scale, const void* zp, float* x, int qtype,
                       int64_t outer, int64_t axis_len, int64_t inner, cudaStream_t s);
// Explicit zero padding of a channels-last (N, H, W, C) tensor into (N, Hp, Wp, C) with the data
// at row pt, column pl; and the inverse crop (for convolutions with asymmetric pads).
void pad_nhwc(const float* x, float* xp, int64_t N, int64_t H, int64_t W, int64_t C, int64_t pt,
              int64_t pl, int64_t Hp, int64_t Wp, cudaStream_t s);
void crop_nhwc(const float* xp, float* x, int64_t N, int64_t H, int64_t W, int64_t C, int64_t pt,
               int64_t pl, int64_t Hp, int64_t Wp, cudaStream_t s);
// Convolution weights: (K, C, R, S) <-> (K, R, S, C) (cuDNN's NHWC filter layout).
void kcrs_to_krsc(const float* src, float* dst, int K, int C, int RS, cudaStream_t s);
void krsc_to_kcrs(const float* src, float* dst, int K, int C, int RS, cudaStream_t s);

// --- fake quantization (fake_quant.cu; formulas in its header comment) --------------------------
// *out = max |x| (the call zeroes it first).
void abs_max(const float* x, int64_t n, float* out, cudaStream_t s);
// y = quantize-dequantize of x with the per-tensor threshold *scale (device memory).
void fake_quant_dequant(const float* x, float* y, int64_t n, const float* scale, int bits,
                        int round_type, cudaStream_t s);
// Per channel, one launch: x viewed as (outer, channels, inner); scale[c] = max |x| over channel
// c, then y = quantize-dequantize of channel c with scale[c].
void channel_fake_quant_dequant(const float* x, float* y, int64_t outer, int64_t channels,
                                int64_t inner, float* scale, int bits, int round_type,
                                cudaStream_t s);
// EMA of moving_average_abs_max (quant/ops/fake_quant.h EmaUpdate) on device scalars: with the
// batch max *m, state = rate * state + 1, accum = rate * accum + m, scale = accum / state.
void ema_update(const float* m, float rate, float* scale, float* state, float* accum,
                cudaStream_t s);
// range_abs_max's window update (fake_quant.h range_abs_max_update) with the batch max *m, at
// iteration scalars->step + 1; writes the new *scale.
void range_abs_max_update(const float* m, float* scale, float* window, int64_t window_size,
                          const StepScalars* scalars, cudaStream_t s);
// PACT (quant/ops/pact.cpp): y = clip(x, -alpha, alpha); backward dx (optional) and dalpha
// (optional; `partial` holds 1024 doubles, summed in a fixed order).
void pact_forward(const float* x, const float* alpha, float* y, int64_t n, cudaStream_t s);
void pact_backward(const float* x, const float* alpha, const float* dy, float* dx, float* dalpha,
                   double* partial, int64_t n, cudaStream_t s);
// BatchNorm folding (quant/ops/bn_fold_ops.cpp): k[c] = gamma[c] / sqrt(var[c] + eps); y = x * k
// (weight: channel i / inner) or x / k (unscale: channel i % C); dgamma from sum(dout * x) over x
// viewed as (outer, C, inner).
void bn_fold_k(const float* gamma, const float* var, float eps, float* k, int64_t C,
               cudaStream_t s);
void bn_fold_apply(const float* x, const float* k, float* y, int64_t n, int64_t C, int64_t inner,
                   bool weight, cudaStream_t s);
void bn_fold_dgamma(const float* x, const float* dout, const float* gamma, const float* var,
                    float eps, int64_t outer, int64_t C, int64_t inner, bool weight, float* dgamma,
                    cudaStream_t s);

}  // namespace qf::cuda
