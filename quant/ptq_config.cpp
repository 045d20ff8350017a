#include "quant/ptq_config.h"

#include "launch/lib/config_schema.h"
#include "nn/error.h"

namespace qf {

const std::vector<std::string>& ptq_algo_names() {
  static const std::vector<std::string> n = {"KL",          "hist",          "avg",
                                             "mse",         "emd",           "abs_max",
                                             "KLQuantizer", "HistQuantizer", "AbsmaxQuantizer"};
  return n;
}

const std::vector<std::string>& ptq_op_type_names() {
  static const std::vector<std::string> n = {"conv2d", "depthwise_conv2d", "mul"};
  return n;
}

CalibConfig PtqConfig::calib() const {
  CalibConfig c = calib_config_for(algo);
  if (bins > 0) c.bins = bins;
  if (hist_percent > 0) c.hist_percent = hist_percent;
  c.upsample_bins = upsample_bins;
  c.bits = activation_bits;
  return c;
}

bool PtqConfig::per_channel_weights() const {
  return weight_quantize_type == "channel_wise_abs_max" ||
         weight_quantize_type == "PerChannelAbsmaxQuantizer";
}

void bind_ptq_config(ConfigSchema& s, PtqConfig& c) {
  s.add("ptq.algo", &c.algo, "activation calibration algorithm", ptq_algo_names());
  s.add("ptq.batch_nums", &c.batch_nums, "calibration batches", 1, 1 << 30);
  s.add("ptq.batch_size", &c.batch_size, "calibration batch size", 1, 1 << 20);
  s.add("ptq.hist_percent", &c.hist_percent,
        "hist / HistQuantizer percentile (0: 0.9999 for hist, 0.99999 for HistQuantizer)", 0.0, 1.0,
        false, true);
  s.add("ptq.bins", &c.bins, "histogram bins (0: 2048 for KL / hist, 1024 for the dygraph quantizers)",
        0, 1 << 20);
  s.add("ptq.upsample_bins", &c.upsample_bins, "KLQuantizer / HistQuantizer range-expansion factor",
        1, 1 << 16);
  s.add("ptq.bias_correction", &c.bias_correction, "correct weight quantization's mean and std shift");
  s.add("ptq.weight_quantize_type", &c.weight_quantize_type, "weight thresholds",
        {"channel_wise_abs_max", "abs_max", "PerChannelAbsmaxQuantizer", "AbsmaxQuantizer"});
  s.add("ptq.quantizable_op_type", &c.quantizable_op_type, "op types to quantize",
        ptq_op_type_names());
  s.add("ptq.skip_tensor_list", &c.skip_tensor_list,
        "tensors whose consuming ops stay float (ONNX / graph value names)");
  s.add("ptq.fuse_conv_bn", &c.fuse_conv_bn, "fold BatchNorm into the preceding conv before calibration");
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
    if (c.out.empty()) throw_input_error("ptq.out: say where to write the int8 model with --out FILE.onnx");
    if (c.quantizable_op_type.empty())
      throw_input_error("ptq.quantizable_op_type: empty (allowed: conv2d, depthwise_conv2d, mul)");
    const CalibAlgo a = c.calib().algo;
    if (!c.histograms_out.empty() && a != CalibAlgo::KL && a != CalibAlgo::hist)
      throw_input_error("ptq.histograms_out: algo '", c.algo, "' keeps no histograms (allowed with: KL, "
                        "hist, KLQuantizer, HistQuantizer)");
  });
}

void bind_dynamic_quant_config(ConfigSchema& s, DynamicQuantConfig& c) {
  s.add("ptq_dynamic.weight_bits", &c.weight_bits, "weight bits: 8 or 16", 8, 16);
  s.add("ptq_dynamic.weight_quantize_type", &c.weight_quantize_type, "weight thresholds",
        {"channel_wise_abs_max", "abs_max"});
  s.add("ptq_dynamic.quantizable_op_type", &c.quantizable_op_type, "op types whose weights to quantize",
        ptq_op_type_names());
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
      throw_input_error("ptq_dynamic.weight_bits: ", c.weight_bits, " is not allowed (allowed: 8, 16)");
    if (c.out.empty()) throw_input_error("ptq_dynamic.out: say where to write with --out DIR");
    if (c.quantizable_op_type.empty())
      throw_input_error("ptq_dynamic.quantizable_op_type: empty (allowed: conv2d, depthwise_conv2d, mul)");
  });
}

}  // namespace qf
