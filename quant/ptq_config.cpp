#include "quant/ptq_config.h"

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

}  // namespace qf
