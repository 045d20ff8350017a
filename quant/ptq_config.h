// Configuration of post-training quantization, static (`qforge ptq`, section [ptq]) and dynamic
// weight-only (`qforge ptq-dynamic`, section [ptq_dynamic]) — PaddleSlim's quant_post_static /
// PTQ and quant_post_dynamic keys. launch/lib/quant_keys.h binds, parses and validates them (with
// the command-line spellings --algo, --batch-nums, ... as aliases); the structs here are what the
// passes read.
//
// Static defaults: PaddleSlim's quant_post_static (algo hist, hist_percent 0.9999 for hist,
// channel_wise_abs_max weights, conv2d / depthwise_conv2d / mul, no bias correction, 8 bits),
// except two: the calibration set — PaddleSlim's batch_nums=None means "all the data"; here the
// demos' 10 batches of 32 are the default and the data is the training split (calib_split), so no
// test image is calibrated on — and BatchNorm folding, on by default (PaddleSlim's
// optimize_model=False leaves it off): the int8 file must let ONNX Runtime and TensorRT run each
// convolution in int8, which needs conv -> QuantizeLinear with nothing between, and a BatchNorm
// after a quantized conv output can no longer be folded by the runtime (ONNX Runtime then runs the
// BatchNorm, and the ReLU after it, in float, with layout transposes around them). Folding before
// calibration calibrates the folded conv's output, what the runtime computes.
// --fuse-conv-bn false gives PaddleSlim's unfolded placement. The dygraph quantizer names are
// accepted as algorithms (KLQuantizer, HistQuantizer, AbsmaxQuantizer, each with its own defaults:
// bins 1024, upsample_bins 64, hist_percent 0.99999) and as weight quantizers
// (PerChannelAbsmaxQuantizer = channel_wise_abs_max, AbsmaxQuantizer = abs_max).
//
// Op names map to qforge's graph as in quant/quant_config.h: conv2d -> conv2d with groups 1 (or
// not depthwise), depthwise_conv2d -> conv2d with groups == input channels > 1, mul -> linear.
// Only 8-bit activations and weights are written (the QDQ output is int8); dynamic quantization
// takes 8 or 16 weight bits.
#pragma once

#include <string>
#include <vector>

#include "quant/calibration.h"

namespace qf {

struct PtqConfig {
  std::string algo = "hist";
  int64_t batch_nums = 10;
  int batch_size = 32;
  double hist_percent = 0;        // 0: the algorithm's default (0.9999 hist, 0.99999 HistQuantizer)
  int bins = 0;                   // 0: the algorithm's default (2048 static, 1024 dygraph)
  int upsample_bins = 64;         // dygraph KLQuantizer / HistQuantizer
  bool bias_correction = false;
  bool per_channel_weights =
      true;  // channel_wise_abs_max (or PerChannelAbsmaxQuantizer), else abs_max
  std::vector<std::string> quantizable_op_type{"conv2d", "depthwise_conv2d", "mul"};
  std::vector<std::string> skip_tensor_list;
  bool fuse_conv_bn = true;        // fold BatchNorm into the conv before calibration
  int activation_bits = 8;
  int weight_bits = 8;
  std::string calib_split = "train";
  std::string out;                // the QDQ ONNX file to write
  std::string histograms_out;     // optional JSON of the calibration histograms (KL, hist)

  // The calibration algorithm with every default resolved.
  CalibConfig calib() const;
};

struct DynamicQuantConfig {
  int weight_bits = 8;
  bool per_channel = true;  // channel_wise_abs_max, else abs_max
  std::vector<std::string> quantizable_op_type{"conv2d", "mul"};
  bool generate_test_model = false;
  std::string out;                // directory: quantized_model/model.onnx (+ test_model/model.onnx)
};

// Allowed values (messages and tests).
const std::vector<std::string>& ptq_algo_names();
const std::vector<std::string>& ptq_op_type_names();

}  // namespace qf
