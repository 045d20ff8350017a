// QuantConfig: the configuration of quant-aware training, key for key the union of PaddleSlim's two
// QAT configs (seeds static-quant-aware.md and qat-ptq-api.rst), plus the schedule knobs PyTorch
// users expect. Bound to the [quant] section of the run configuration (`quant.weight_bits = 8`,
// `--quant.weight_bits 8`) by bind_quant_config.
//
// Defaults follow current PaddleSlim (reference 3.1 static quant_aware and 4.1 dygraph QAT, which
// agree on them): channel_wise_abs_max weights, moving_average_abs_max activations, 8 bits,
// quantize_op_types [conv2d, depthwise_conv2d, mul] = quantizable_layer_type [Conv2D, Linear],
// not_quant_pattern [skip_quant], window_size 10000, moving_rate 0.9, dtype int8. The 2019 static
// seed's own defaults (abs_max / abs_max, plus elementwise_add and pool2d) are what the first
// release shipped; current PaddleSlim changed them and its published accuracy tables use these.
// PACT follows the dygraph QAT (reference 2.2): alpha starts at 100, trains with the model
// optimizer at 1000x its learning rate, under the global L2 decay (decay multiplier 1).
//
// quantize_op_types and quantizable_layer_type say the same thing in the two APIs' words: set one
// (the other follows) or both consistently. Op names map onto qforge's graph ops as:
//   conv2d -> conv2d with groups == 1 or 1 < groups < input channels; depthwise_conv2d -> conv2d
//   with groups == input channels > 1; mul -> linear; elementwise_add -> add;
//   pool2d -> max_pool2d, avg_pool2d, global_avg_pool.
#pragma once

#include <string>
#include <vector>

namespace qf {

class ConfigSchema;

struct QuantConfig {
  // Seed keys (static quant_aware and dygraph QAT).
  std::string weight_quantize_type = "channel_wise_abs_max";
  std::string activation_quantize_type = "moving_average_abs_max";
  int weight_bits = 8;
  int activation_bits = 8;
  std::vector<std::string> not_quant_pattern{"skip_quant"};
  std::vector<std::string> quantize_op_types{"conv2d", "depthwise_conv2d", "mul"};
  std::vector<std::string> quantizable_layer_type{"Conv2D", "Linear"};
  std::string dtype = "int8";
  int64_t window_size = 10000;
  double moving_rate = 0.9;
  bool quant_weight_only = false;
  std::string weight_preprocess_type = "none";      // none | PACT
  std::string activation_preprocess_type = "none";  // none | PACT
  // PACT (dygraph QAT defaults).
  double pact_alpha_init = 100.0;
  double pact_lr_mult = 1000.0;
  double pact_decay_mult = 1.0;
  // Schedules and extras.
  bool fuse_conv_bn = false;           // fold BN into the conv weight during QAT (reference 4.5)
  int freeze_bn_after_epoch = -1;      // epochs (0-based) >= this use running BN statistics
  int freeze_scales_after_epoch = -1;  // epochs >= this stop updating activation scales
  bool sync_scales = true;             // all-reduce batch maxima with MAX across ranks
  // After training, move each folded BatchNorm's beta by the rounding the int8 export applies to
  // its folded bias (quant/convert.h, align_folded_bias), so the simulated and the exported model
  // agree. Not in PaddleSlim, whose simulated model keeps that difference.
  bool align_folded_bias = true;

  // Which of the two op-list keys the user set (filled by bind_quant_config's check).
  bool op_types_set = false, layer_types_set = false;

  // The resolved set of Paddle op types to quantize (see the header comment).
  std::vector<std::string> effective_op_types() const;
  // Cross-key validation; InputError naming the key, the value and what is allowed.
  void validate() const;
};

// Allowed values (also used by messages and tests).
const std::vector<std::string>& weight_quantize_types();
const std::vector<std::string>& activation_quantize_types();
const std::vector<std::string>& quantize_op_type_names();

// Binds every key to `schema` under "quant." and registers validate() as a check.
void bind_quant_config(ConfigSchema& schema, QuantConfig& c);

}  // namespace qf
