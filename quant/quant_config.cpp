#include "quant/quant_config.h"

#include <algorithm>

#include "launch/lib/config_schema.h"
#include "nn/error.h"

namespace qf {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + v[i];
  return r;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> layer_types_to_ops(const std::vector<std::string>& layers) {
  std::vector<std::string> ops;
  for (const std::string& l : layers) {
    if (l == "Conv2D") {
      ops.push_back("conv2d");
      ops.push_back("depthwise_conv2d");
    } else if (l == "Linear") {
      ops.push_back("mul");
    }
  }
  return ops;
}

}  // namespace

const std::vector<std::string>& weight_quantize_types() {
  static const std::vector<std::string> v = {"abs_max", "channel_wise_abs_max", "range_abs_max",
                                             "moving_average_abs_max"};
  return v;
}

const std::vector<std::string>& activation_quantize_types() {
  static const std::vector<std::string> v = {"abs_max", "range_abs_max", "moving_average_abs_max"};
  return v;
}

const std::vector<std::string>& quantize_op_type_names() {
  static const std::vector<std::string> v = {"conv2d", "depthwise_conv2d", "mul", "elementwise_add",
                                             "pool2d"};
  return v;
}

std::vector<std::string> QuantConfig::effective_op_types() const {
  if (layer_types_set && !op_types_set) return layer_types_to_ops(quantizable_layer_type);
  return quantize_op_types;
}

void QuantConfig::validate() const {
  if (!contains(weight_quantize_types(), weight_quantize_type))
    throw_input_error("quant.weight_quantize_type: '", weight_quantize_type,
                      "' is not allowed (allowed: ", join(weight_quantize_types()), ")");
  if (!contains(activation_quantize_types(), activation_quantize_type))
    throw_input_error("quant.activation_quantize_type: '", activation_quantize_type,
                      "' is not allowed (allowed: ", join(activation_quantize_types()), ")");
  if (weight_bits < 2 || weight_bits > 16)
    throw_input_error("quant.weight_bits: ", weight_bits, " is out of range (allowed: 2 to 16)");
  if (activation_bits < 2 || activation_bits > 16)
    throw_input_error("quant.activation_bits: ", activation_bits,
                      " is out of range (allowed: 2 to 16)");
  if (dtype != "int8")
    throw_input_error("quant.dtype: '", dtype, "' is not allowed (allowed: int8)");
  if (!(moving_rate > 0 && moving_rate < 1))
    throw_input_error("quant.moving_rate: ", moving_rate, " is out of range (allowed: (0, 1))");
  if (window_size < 1)
    throw_input_error("quant.window_size: ", window_size, " is out of range (allowed: >= 1)");
  for (const std::string& t : quantize_op_types)
    if (!contains(quantize_op_type_names(), t))
      throw_input_error("quant.quantize_op_types: '", t,
                        "' is not a quantizable op type (allowed: ", join(quantize_op_type_names()),
                        ")");
  for (const std::string& t : quantizable_layer_type)
    if (t != "Conv2D" && t != "Linear")
      throw_input_error("quant.quantizable_layer_type: '", t,
                        "' is not a quantizable layer type (allowed: Conv2D, Linear)");
  if (op_types_set && layer_types_set) {
    std::vector<std::string> a = layer_types_to_ops(quantizable_layer_type);
    std::vector<std::string> b;
    for (const std::string& t : quantize_op_types)
      if (t == "conv2d" || t == "depthwise_conv2d" || t == "mul") b.push_back(t);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b)
      throw_input_error("quant.quantizable_layer_type: '", join(quantizable_layer_type),
                        "' disagrees with quant.quantize_op_types '", join(quantize_op_types),
                        "' (set one of them, or both to the same layers)");
  }
  for (const auto* k : {&weight_preprocess_type, &activation_preprocess_type})
    if (*k != "none" && *k != "PACT")
      throw_input_error("quant.", k == &weight_preprocess_type ? "weight" : "activation",
                        "_preprocess_type: '", *k, "' is not allowed (allowed: none, PACT)");
  if (!(pact_alpha_init > 0))
    throw_input_error("quant.pact_alpha_init: ", pact_alpha_init, " must be > 0");
  if (freeze_bn_after_epoch < -1 || freeze_scales_after_epoch < -1)
    throw_input_error("quant.freeze_*_after_epoch: must be -1 (never) or an epoch >= 0");
}

void bind_quant_config(ConfigSchema& s, QuantConfig& c) {
  s.add("quant.weight_quantize_type", &c.weight_quantize_type,
        "weight quantizer (Paddle's fake-quant op types)", weight_quantize_types());
  s.add("quant.activation_quantize_type", &c.activation_quantize_type,
        "activation quantizer (channel-wise is for weights only)", activation_quantize_types());
  s.add("quant.weight_bits", &c.weight_bits, "weight bits", 2, 16);
  s.add("quant.activation_bits", &c.activation_bits, "activation bits", 2, 16);
  s.add("quant.not_quant_pattern", &c.not_quant_pattern,
        "skip ops whose scope name contains any of these strings");
  s.add("quant.quantize_op_types", &c.quantize_op_types, "Paddle op types to quantize",
        quantize_op_type_names());
  s.add("quant.quantizable_layer_type", &c.quantizable_layer_type,
        "dygraph twin of quantize_op_types", {"Conv2D", "Linear"});
  s.add("quant.dtype", &c.dtype, "quantized type", {"int8"});
  s.add("quant.window_size", &c.window_size, "range_abs_max window (batches)", 1, 1 << 30);
  s.add("quant.moving_rate", &c.moving_rate, "moving_average_abs_max decay", 0.0, 1.0, true, true);
  s.add("quant.quant_weight_only", &c.quant_weight_only,
        "quantize weights only (activations float)");
  s.add("quant.weight_preprocess_type", &c.weight_preprocess_type, "PACT on weights",
        {"none", "PACT"});
  s.add("quant.activation_preprocess_type", &c.activation_preprocess_type,
        "PACT on activations before their fake-quant", {"none", "PACT"});
  s.add("quant.pact_alpha_init", &c.pact_alpha_init, "PACT alpha's initial value", 0.0, 1e30, true);
  s.add("quant.pact_lr_mult", &c.pact_lr_mult, "PACT alpha's learning-rate multiplier", 0.0, 1e30);
  s.add("quant.pact_decay_mult", &c.pact_decay_mult, "PACT alpha's L2 decay multiplier", 0.0, 1e30);
  s.add("quant.fuse_conv_bn", &c.fuse_conv_bn, "fold BatchNorm into the conv weight during QAT");
  s.add("quant.freeze_bn_after_epoch", &c.freeze_bn_after_epoch,
        "from this epoch (0-based) on, BN uses running statistics (-1: never)", -1, 1 << 30);
  s.add("quant.freeze_scales_after_epoch", &c.freeze_scales_after_epoch,
        "from this epoch (0-based) on, activation scales stop updating (-1: never)", -1, 1 << 30);
  s.add("quant.sync_scales", &c.sync_scales,
        "all-reduce batch maxima with MAX across ranks before scale updates");
  s.add("quant.align_folded_bias", &c.align_folded_bias,
        "after training, align folded BatchNorm biases to the int8 export's int32 grid");
  s.check([&s, &c] {
    c.op_types_set = s.was_set("quant.quantize_op_types");
    c.layer_types_set = s.was_set("quant.quantizable_layer_type");
    c.validate();
    // The resolved list is what the saved configuration records (checkpoints rebuild from it).
    c.quantize_op_types = c.effective_op_types();
  });
}

}  // namespace qf
