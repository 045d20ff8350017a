// quant_aware: the static-graph QAT pass (PaddleSlim's quant_aware(program, config); the
// quantizers it inserts: docs/quantization.md), as a rewrite of our Graph — the quantized model is
// the same graph with fake-quant nodes in it, not a second model class.
//
// For every quantizable node (QuantConfig::effective_op_types; see quant/quant_config.h for the
// op-name mapping) whose scope name contains none of not_quant_pattern:
//   - its weight (conv2d / linear input 1) goes through [pact] -> weight fake-quant
//     (weight_quantize_type, weight_bits; channel-wise along the output channel, axis 0 for both
//     our conv (O, I/g, kh, kw) and our linear (out, in) — PyTorch's layout; Paddle's mul/Linear
//     keep (in, out) and use axis 1, which is the same channel);
//   - each float activation input goes through [pact] -> activation fake-quant
//     (activation_quantize_type, activation_bits), unless quant_weight_only.
// Each value is quantized once and the quantized value is shared by all its quantized consumers;
// consumers that are not quantized keep reading the float value. Biases are never quantized.
//
// Output ranges: ONNX Runtime forms an int8 convolution only when the convolution's output is
// quantized too, so convert() puts a quantize/dequantize pair right after each quantized conv
// (after folding its BatchNorm, before its activation). Its scale is the scale of the value that
// ends the conv's unit (quant/conv_unit.h: conv -> [batch_norm] -> [relu | relu6]) when that value
// is itself quantized as the next layer's input: relu and relu6 commute with symmetric quantization
// that shares one threshold, so the int8 model computes exactly what training simulated. Where a
// unit's end feeds nothing quantized (MobileNetV1's last conv, which feeds average pooling), the
// pass adds an observer (moving_average_abs_max_scale, static init 1/1/1) recording the range, as
// Paddle's out-scale pass does. Paddle's observer is an identity, so its deployed model requantizes
// there while training never did; here the observer also quantizes (attr quantize = 1, the
// moving-average quantizer's forward and straight-through backward), so training simulates what the
// int8 model computes — a deliberate difference from Paddle, which closes its train/deploy gap.
//
// Names (torchvision-style, so checkpoints read well): for a node "features.1.0.0",
//   features.1.0.0.weight_quant[.scale|.state|.accum|.window]   weight quantizer and its state
//   features.1.0.0.act_quant[.scale|...]   its input quantizer (add: act_quant.0, act_quant.1)
//   features.1.0.0.weight_pact / act_pact [.alpha]               PACT
//   features.1.0.0.out_observer[.scale|.state|.accum]           output observer
// Initial state: moving average scale 0.001, state 1, accum 1; range_abs_max scale 0.001, window
// zeros; PACT alpha pact_alpha_init with lr_mult pact_lr_mult and decay_mult pact_decay_mult.
//
// fuse_conv_bn (docs/quantization.md, "Conv + BatchNorm folding"): a quantized conv without bias
// whose only consumer is a batch_norm trains on the folded weight W * gamma / sqrt(running_var +
// eps), quantized per channel, and rescales the conv output by the inverse factor before the
// BatchNorm, which keeps normalising with batch statistics until it is frozen (PaddleSlim's
// QuantedConv2DBatchNorm and PyTorch's ConvBn2d). With running statistics the result equals the
// folded conv exactly.
//
// The evaluation graph is the same graph run in Mode::eval: scales are shared (for_test).
#pragma once

#include <string>
#include <vector>

#include "nn/graph.h"
#include "quant/quant_config.h"

namespace qf {

struct QuantAwareReport {
  std::vector<std::string> quantized;  // scope names of the quantized ops
  std::vector<std::string> skipped;    // quantizable ops skipped by not_quant_pattern
  std::vector<std::string> state;      // every buffer and parameter the pass added
  int weight_quantizers = 0, activation_quantizers = 0, observers = 0, pacts = 0, folded_bn = 0;
};

// Paddle's op type of a node ("conv2d", "depthwise_conv2d", "mul", "elementwise_add", "pool2d"),
// or "" for ops QAT does not quantize.
std::string paddle_op_type(const Graph& g, const Node& n);

// Rewrites `g` in place. InputError when the graph is already quantized.
QuantAwareReport quant_aware(Graph& g, const QuantConfig& config);

// True for the fake-quant op types (weight, activation, observer).
bool is_fake_quant_op(const std::string& op);

// Schedules (the trainer rebuilds its executors after calling them).
// BatchNorm uses running statistics in training from now on (use_running_stats = 1).
int freeze_batch_norm(Graph& g);
// Activation quantizers and observers stop updating their scales (attr frozen = 1).
int freeze_activation_scales(Graph& g);

}  // namespace qf
