// Fake-quant (quantize-dequantize) ops of quant-aware training, exactly as PaddlePaddle defines
// them (docs/quantization.md). Their formulas — the guarded reciprocal, the round-half-away
// quantize-dequantize and the two scale updates — are written once, in fake_quant_math.h, for
// every kernel on every device. A "scale" is Paddle's clipping threshold T in float units, not
// the ONNX step (step = T / bnt, bnt = 2^(bits-1) - 1).
//
// Ops (inputs; state inputs are buffers the training forward updates; output: out, shaped like x):
//   fake_quantize_dequantize_abs_max (x, scale[1])
//       T = max|x| of this call, in training and in evaluation; training stores T in `scale`.
//   fake_channel_wise_quantize_dequantize_abs_max (x, scale[C]); attr quant_axis (0 or 1)
//       T_c = max |x| over the elements with index c on quant_axis, recomputed on every call
//       (weights only: x is a parameter in row-major layout). Training stores T_c in `scale`.
//   fake_quantize_dequantize_moving_average_abs_max (x, scale[1], state[1], accum[1])
//       attr moving_rate r (0.9). Training: m = max|x|;  state = r*state + 1;
//       accum = r*accum + m;  T = accum / state;  then quantize x with this new T.
//       Evaluation: quantize with the stored scale. (Initial values set by the pass: 0.001, 1, 1.)
//   fake_quantize_dequantize_range_abs_max (x, scale[1], window[W]); attr window_size W
//       Training with iteration it = global step + 1 (Paddle's step counter is incremented before
//       the op reads it): m = max|x|; idx = it mod W; removed = window[idx]; window[idx] = m;
//       T = m if scale < m, else max(window[0 : min(it, W)]) if |removed - scale| < 1e-6, else
//       scale. Evaluation: the stored scale.
//   moving_average_abs_max_scale (x, scale[1], state[1], accum[1]): an observer. out = x; training
//       updates the EMA like the op above (recording an output range for export). Attr quantize
//       (0): 1 makes out the op above's quantize-dequantize with that scale, so that training
//       simulates the requantization the exported int8 model performs there.
// Common attrs: bits (8, allowed 2..16); sync_scales (1): in training, when the executor has a
//   communicator, the batch max m is all-reduced with MAX across ranks before it updates any
//   state, so every rank keeps identical scales (a deliberate improvement on Paddle, whose ranks
//   keep private statistics); frozen (0): 1 makes the training forward behave like evaluation
//   (activation scales frozen after a given epoch).
//
// Backward (all ops): the straight-through estimator, no clipping: dx = dout everywhere, including
// outside [-T, T]; scales get no gradient. Gradient contract: dx overwritten.
//
// Kernels: a plain reference (float or double) and a fast CPU kernel (float; the abs-max reduction
// and the fused clip-quantize-dequantize pass in one OpenMP region, each thread on its own chunk;
// per-channel weights one channel block at a time). The straight-through backward is an OpDef
// `grad_passthrough`: the executor gives dx and dout one buffer and skips the copy where it can.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "nn/op_registry.h"
#include "quant/ops/fake_quant/fake_quant_math.h"

namespace qf {

class Communicator;

// View of a tensor as (outer, axis_len, inner) for per-channel quantization along quant_axis.
struct ChannelGeom {
  int64_t outer = 1, channels = 1, inner = 1;
};
ChannelGeom channel_geom(const Node& node, const Shape& x);

// range_abs_max's window update on the host (the formula: fake_quant_math.h range_abs_max_next);
// `it` >= 1 is the iteration, `last` the stored scale, `m` this batch's max. Returns the new scale.
template <class T>
T range_abs_max_update(T* window, int64_t window_size, int64_t it, T last, T m) {
  const int64_t slot = range_window_slot(it, window_size);
  const T removed = window[slot];
  window[slot] = m;
  return range_abs_max_next(last, m, removed, [&] {
    T mx = 0;
    for (int64_t i = 0; i < range_window_filled(it, window_size); ++i)
      mx = std::max(mx, std::fabs(window[i]));
    return mx;
  });
}

// Validated attributes of a fake-quant node (InputError naming the node on bad values).
struct FakeQuantAttrs {
  int64_t bits = 8;
  int64_t bnt = 127;
  double moving_rate = 0.9;
  int64_t window_size = 10000;
  int64_t quant_axis = 0;
  bool sync_scales = true;
  bool frozen = false;
};
FakeQuantAttrs fake_quant_attrs(const Node& node);

// The batch max after the cross-rank MAX reduction (when `comm` is set and the node syncs).
// `buffer` is a 1-element host float32 tensor owned by the kernel.
float sync_batch_max(Communicator* comm, bool sync, const Tensor& buffer, float m);

// Fast CPU passes (float32, OpenMP + SIMD).
float abs_max_fast(const float* x, int64_t n);
void fake_qdq_fast(const float* x, float* y, int64_t n, float s, int64_t bnt);
void channel_abs_max_fast(const float* x, const ChannelGeom& g, float* scales);
void channel_fake_qdq_fast(const float* x, float* y, const ChannelGeom& g, const float* scales,
                           int64_t bnt);
void copy_fast(const float* src, float* dst, int64_t n);
// Per-tensor quantizer in one parallel region: m = max|x|, s = scale_of(m) (called once, on the
// calling thread), y = fake_qdq(x; s). Returns s.
// `scale_of` is a non-owning reference to a callable float(float), so nothing allocates per call.
class ScaleOfMax {
 public:
  template <class F>
  explicit ScaleOfMax(F& f)
      : obj_(&f),
        call_([](void* o, float m) { return static_cast<float>((*static_cast<F*>(o))(m)); }) {}
  float operator()(float m) const { return call_(obj_, m); }

 private:
  void* obj_;
  float (*call_)(void*, float);
};
float abs_max_then_qdq_fast(const float* x, float* y, int64_t n, int64_t bnt,
                            const ScaleOfMax& scale_of);
// Per-channel quantizer: scales[c] = max over channel c of |x|, then y = fake_qdq per channel
// (axis 0: one pass per contiguous channel block).
void channel_abs_max_qdq_fast(const float* x, float* y, const ChannelGeom& g, float* scales,
                              int64_t bnt);

}  // namespace qf
