#include "launch/lib/quant_keys.h"

#include <algorithm>

#include "nn/error.h"

namespace qf {
namespace {

std::string join(const std::vector<std::string>& v) {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + v[i];
  return r;
}

// The dygraph layer types as the static API's op types.
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

// quantize_op_types and quantizable_layer_type: set one (the other follows) or both to the same
// layers; the result lands in q.config.quantize_op_types.
void resolve_op_types(const ConfigSchema& s, QuantSection& q) {
  const bool ops_set = s.was_set("quant.quantize_op_types");
  const bool layers_set = s.was_set("quant.quantizable_layer_type");
  std::vector<std::string>& ops = q.config.quantize_op_types;
  if (ops_set && layers_set) {
    std::vector<std::string> a = layer_types_to_ops(q.quantizable_layer_type);
    std::vector<std::string> b;
    for (const std::string& t : ops)
      if (t == "conv2d" || t == "depthwise_conv2d" || t == "mul") b.push_back(t);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    if (a != b)
      throw_input_error("quant.quantizable_layer_type: '", join(q.quantizable_layer_type),
                        "' disagrees with quant.quantize_op_types '", join(ops),
                        "' (set one of them, or both to the same layers)");
  }
  if (layers_set && !ops_set) ops = layer_types_to_ops(q.quantizable_layer_type);
}

}  // namespace

void bind_quant_config(ConfigSchema& s, QuantSection& q) {
  QuantConfig& c = q.config;
  using T = QuantizerType;
  s.add_choice("quant.weight_quantize_type", &c.weight_quantize_type,
               "weight quantizer (Paddle's fake-quant op types)",
               {{"abs_max", T::abs_max},
                {"channel_wise_abs_max", T::channel_wise_abs_max},
                {"range_abs_max", T::range_abs_max},
                {"moving_average_abs_max", T::moving_average_abs_max}});
  s.add_choice("quant.activation_quantize_type", &c.activation_quantize_type,
               "activation quantizer (channel-wise is for weights only)",
               {{"abs_max", T::abs_max},
                {"range_abs_max", T::range_abs_max},
                {"moving_average_abs_max", T::moving_average_abs_max}});
  s.add("quant.weight_bits", &c.weight_bits, "weight bits", 2, 16);
  s.add("quant.activation_bits", &c.activation_bits, "activation bits", 2, 16);
  s.add("quant.not_quant_pattern", &c.not_quant_pattern,
        "skip ops whose scope name contains any of these strings");
  s.add("quant.quantize_op_types", &c.quantize_op_types, "Paddle op types to quantize",
        {"conv2d", "depthwise_conv2d", "mul", "elementwise_add", "pool2d"});
  s.add("quant.quantizable_layer_type", &q.quantizable_layer_type,
        "dygraph twin of quantize_op_types", {"Conv2D", "Linear"});
  s.add("quant.dtype", &q.dtype, "quantized type", {"int8"});
  s.add("quant.window_size", &c.window_size, "range_abs_max window (batches)", 1, 1 << 30);
  s.add("quant.moving_rate", &c.moving_rate, "moving_average_abs_max decay", 0.0, 1.0, true, true);
  s.add("quant.quant_weight_only", &c.quant_weight_only,
        "quantize weights only (activations float)");
  s.add_choice("quant.weight_preprocess_type", &c.weight_pact, "PACT on weights",
               {{"none", false}, {"PACT", true}});
  s.add_choice("quant.activation_preprocess_type", &c.activation_pact,
               "PACT on activations before their fake-quant", {{"none", false}, {"PACT", true}});
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
  s.check([&s, &q] { resolve_op_types(s, q); });
}

void bind_ptq_config(ConfigSchema& s, PtqConfig& c) {
  s.add("ptq.algo", &c.algo, "activation calibration algorithm", ptq_algo_names());
  s.add("ptq.batch_nums", &c.batch_nums, "calibration batches", 1, 1 << 30);
  s.add("ptq.batch_size", &c.batch_size, "calibration batch size", 1, 1 << 20);
  s.add("ptq.hist_percent", &c.hist_percent,
        "hist / HistQuantizer percentile (0: 0.9999 for hist, 0.99999 for HistQuantizer)", 0.0, 1.0,
        false, true);
  s.add("ptq.bins", &c.bins,
        "histogram bins (0: 2048 for KL / hist, 1024 for the dygraph quantizers)", 0, 1 << 20);
  s.add("ptq.upsample_bins", &c.upsample_bins, "KLQuantizer / HistQuantizer range-expansion factor",
        1, 1 << 16);
  s.add("ptq.bias_correction", &c.bias_correction,
        "correct weight quantization's mean and std shift");
  s.add_choice("ptq.weight_quantize_type", &c.per_channel_weights, "weight thresholds",
               {{"channel_wise_abs_max", true},
                {"abs_max", false},
                {"PerChannelAbsmaxQuantizer", true},
                {"AbsmaxQuantizer", false}});
  s.add("ptq.quantizable_op_type", &c.quantizable_op_type, "op types to quantize",
        ptq_op_type_names());
  s.add("ptq.skip_tensor_list", &c.skip_tensor_list,
        "tensors whose consuming ops stay float (ONNX / graph value names)");
  s.add("ptq.fuse_conv_bn", &c.fuse_conv_bn,
        "fold BatchNorm into the preceding conv before calibration");
  s.add("ptq.activation_bits", &c.activation_bits, "activation bits (int8 output: 8)", 8, 8);
  s.add("ptq.weight_bits", &c.weight_bits, "weight bits (int8 output: 8)", 8, 8);
  s.add("ptq.calib_split", &c.calib_split, "dataset split to calibrate on", {"train", "test"});
  s.add("ptq.out", &c.out, "the quantized QDQ ONNX file to write");
  s.add("ptq.histograms_out", &c.histograms_out,
        "KL / hist: write each activation's calibration histogram and thresholds as JSON "
        "(docs/interop.md)");
  s.alias("algo", "ptq.algo");
  s.alias("batch-nums", "ptq.batch_nums");
  s.alias("batch-size", "ptq.batch_size");
  s.alias("hist-percent", "ptq.hist_percent");
  s.alias("bins", "ptq.bins");
  s.alias("upsample-bins", "ptq.upsample_bins");
  s.alias("bias-correction", "ptq.bias_correction");
  s.alias("weight-quantize-type", "ptq.weight_quantize_type");
  s.alias("quantizable-op-type", "ptq.quantizable_op_type");
  s.alias("skip-tensor-list", "ptq.skip_tensor_list");
  s.alias("fuse-conv-bn", "ptq.fuse_conv_bn");
  s.alias("out", "ptq.out");
  s.check([&c] {
    if (c.out.empty())
      throw_input_error("ptq.out: say where to write the int8 model with --out FILE.onnx");
    if (c.quantizable_op_type.empty())
      throw_input_error("ptq.quantizable_op_type: empty (allowed: conv2d, depthwise_conv2d, mul)");
    const CalibAlgo a = c.calib().algo;
    if (!c.histograms_out.empty() && a != CalibAlgo::KL && a != CalibAlgo::hist)
      throw_input_error(
          "ptq.histograms_out: algo '", c.algo,
          "' keeps no histograms (allowed with: KL, hist, KLQuantizer, HistQuantizer)");
  });
}

void bind_dynamic_quant_config(ConfigSchema& s, DynamicQuantConfig& c) {
  s.add("ptq_dynamic.weight_bits", &c.weight_bits, "weight bits: 8 or 16", 8, 16);
  s.add_choice("ptq_dynamic.weight_quantize_type", &c.per_channel, "weight thresholds",
               {{"channel_wise_abs_max", true}, {"abs_max", false}});
  s.add("ptq_dynamic.quantizable_op_type", &c.quantizable_op_type,
        "op types whose weights to quantize", ptq_op_type_names());
  s.add("ptq_dynamic.generate_test_model", &c.generate_test_model,
        "also write the dequantized float model (test_model/model.onnx)");
  s.add("ptq_dynamic.out", &c.out, "output directory");
  s.alias("weight-bits", "ptq_dynamic.weight_bits");
  s.alias("weight-quantize-type", "ptq_dynamic.weight_quantize_type");
  s.alias("quantizable-op-type", "ptq_dynamic.quantizable_op_type");
  s.alias("generate-test-model", "ptq_dynamic.generate_test_model");
  s.alias("out", "ptq_dynamic.out");
  s.check([&c] {
    if (c.weight_bits != 8 && c.weight_bits != 16)
      throw_input_error("ptq_dynamic.weight_bits: ", c.weight_bits,
                        " is not allowed (allowed: 8, 16)");
    if (c.out.empty()) throw_input_error("ptq_dynamic.out: say where to write with --out DIR");
    if (c.quantizable_op_type.empty())
      throw_input_error(
          "ptq_dynamic.quantizable_op_type: empty (allowed: conv2d, depthwise_conv2d, mul)");
  });
}

}  // namespace qf
