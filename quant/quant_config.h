// QuantConfig: what the quant_aware pass needs to know, typed and already validated. The [quant]
// section of the run configuration (`quant.weight_bits = 8`, `--quant.weight_bits 8`) is bound,
// parsed and validated once, in launch/lib/quant_keys.h, which fills this struct; the pass trusts
// it.
//
// Defaults follow current PaddleSlim (static quant_aware and dygraph QAT agree on them):
// channel_wise_abs_max weights, moving_average_abs_max activations, 8 bits, quantize_op_types
// [conv2d, depthwise_conv2d, mul], not_quant_pattern [skip_quant], window_size 10000, moving_rate
// 0.9. PACT follows the dygraph QAT: alpha starts at 100 and trains with the model optimizer at
// 1000x its learning rate, under the global L2 decay (decay multiplier 1). docs/quantization.md
// states every quantizer's formulas.
//
// Op names are Paddle's and map onto qforge's graph ops as (quant/quant_aware.h paddle_op_type):
//   conv2d -> conv2d with groups == 1 or 1 < groups < input channels; depthwise_conv2d -> conv2d
//   with groups == input channels > 1; mul -> linear; elementwise_add -> add;
//   pool2d -> max_pool2d, avg_pool2d, global_avg_pool.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qf {

// Paddle's fake-quant types; channel_wise_abs_max is for weights only.
enum class QuantizerType : uint8_t {
  abs_max,
  channel_wise_abs_max,
  range_abs_max,
  moving_average_abs_max
};

struct QuantConfig {
  QuantizerType weight_quantize_type = QuantizerType::channel_wise_abs_max;
  QuantizerType activation_quantize_type = QuantizerType::moving_average_abs_max;
  int weight_bits = 8;      // 2..16
  int activation_bits = 8;  // 2..16
  std::vector<std::string> not_quant_pattern{"skip_quant"};
  // Paddle op types to quantize (the dygraph quantizable_layer_type already resolved into them).
  std::vector<std::string> quantize_op_types{"conv2d", "depthwise_conv2d", "mul"};
  int64_t window_size = 10000;  // range_abs_max
  double moving_rate = 0.9;     // moving_average_abs_max, in (0, 1)
  bool quant_weight_only = false;
  bool weight_pact = false;      // weight_preprocess_type = PACT
  bool activation_pact = false;  // activation_preprocess_type = PACT
  double pact_alpha_init = 100.0;
  double pact_lr_mult = 1000.0;
  double pact_decay_mult = 1.0;
  // Schedules and extras.
  bool fuse_conv_bn = false;           // fold BN into the conv weight during QAT
  int freeze_bn_after_epoch = -1;      // epochs (0-based) >= this use running BN statistics
  int freeze_scales_after_epoch = -1;  // epochs >= this stop updating activation scales
  bool sync_scales = true;             // all-reduce batch maxima with MAX across ranks
  // After training, move each folded BatchNorm's beta by the rounding the int8 export applies to
  // its folded bias (quant/convert.h, align_folded_bias), so the simulated and the exported model
  // agree. Not in PaddleSlim, whose simulated model keeps that difference.
  bool align_folded_bias = true;
};

}  // namespace qf
