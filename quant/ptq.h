// Static post-training quantization (PaddleSlim's quant_post_static / dygraph PTQ;
// docs/quantization.md) over a qforge graph that carries its weights (an imported ONNX model or a
// baked checkpoint):
//
//   plan_ptq       which ops to quantize — conv2d / depthwise_conv2d / mul (linear) nodes of the
//                  configured types whose weight is data, minus those reading a tensor of
//                  skip_tensor_list — and which activations to calibrate: the float inputs and
//                  outputs of those ops (one statistic per tensor, shared by all its uses).
//   Calibrator     runs calibration batches through an inference executor and feeds every planned
//                  activation to its CalibState (quant/calibration.h): for static KL / hist first a
//                  min/max pass over the batches, then the histogram pass over the same batches.
//                  States are plain mergeable structs (CalibState::merge): under mpirun the ranks
//                  split the batches and combine their states between the passes and at the end
//                  (Calibrator::merge_ranks).
//   quantize_weight per-channel (axis 0: conv output channels, linear outputs) or per-tensor
//                  abs-max thresholds, q = clip(round_half_even(w bnt / T), -bnt - 1, bnt) (numpy's
//                  np.round, the ONNX-format freeze), optional bias correction (5.7).
//   build_qdq_graph the deployable graph, in the placement ONNX Runtime forms int8 convolutions
//                  and matmuls from: each quantized op's activation input and its output (unless
//                  it is a graph output: the logits stay float) are read, by EACH node reading
//                  them, through a quantize_linear -> dequantize_linear pair of that node's own
//                  (per tensor, scale T/127, int8 zero point 0, "<x>.quantized" /
//                  "<x>.quantized.dequantized" as Paddle names them): ONNX Runtime forms int8
//                  convolutions only from unshared pairs (see QdqBuilder in ptq.cpp for why).
//                  Its weight becomes an int8 constant
//                  -> dequantize_linear (axis 0 per channel); its float bias becomes an int32
//                  constant with scale s_x s_w -> dequantize_linear. A threshold of 0 quantizes
//                  with T = 1e-8.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "nn/communicator.h"
#include "nn/context.h"
#include "nn/graph.h"
#include "quant/calibration.h"
#include "quant/ptq_config.h"

namespace qf {

struct PtqPlan {
  std::vector<std::string> nodes;        // quantized nodes, in graph order
  std::vector<std::string> types;        // their Paddle op types (conv2d, depthwise_conv2d, mul)
  std::vector<std::string> activations;  // values to calibrate, in graph order
  std::vector<std::string> skipped;      // nodes of a quantized type left in float, with the reason
};

// InputError: a model that is already quantized (Q/DQ nodes), a skip tensor that does not exist,
// nothing to quantize.
PtqPlan plan_ptq(const Graph& g, const PtqConfig& c);

class Calibrator {
 public:
  Calibrator(const Graph& g, const PtqPlan& plan, const CalibConfig& c);

  bool two_pass() const { return config_.two_pass(); }
  // One batch: `tensor(name)` gives each planned activation's host data after a forward pass.
  // `range_pass`: the first pass of two-pass calibration. NaN or infinity is an InputError naming
  // the tensor, the node producing it and the batch.
  template <class TensorOf>
  void observe(TensorOf&& tensor, int64_t batch_index, int64_t samples, bool range_pass) {
    for (auto& [name, state] : states_) observe_one(name, tensor(name), batch_index, samples, range_pass);
  }
  // Ends the first pass of two-pass calibration: fixes every histogram's range.
  void start_histograms();
  // Collective: every rank's states become the merge (CalibState::merge) of all ranks' states in
  // rank order, identical on every rank. Nothing happens on one rank.
  void merge_ranks(Communicator& comm);
  std::map<std::string, CalibState>& states() { return states_; }
  const CalibConfig& config() const { return config_; }
  // T for every planned activation.
  std::map<std::string, double> thresholds() const;

 private:
  void observe_one(const std::string& name, const Tensor& t, int64_t batch, int64_t samples,
                   bool range_pass);
  CalibConfig config_;
  std::map<std::string, CalibState> states_;
  std::map<std::string, std::string> producer_;  // activation -> node name, for messages
};

// Runs calibration: batch_nums batches of batch_size samples of `data`, in order, on ctx's
// device. InputError for an empty calibration set or one smaller than batch_nums x batch_size.
// Collective over `comm` (mpirun -np N qforge ptq): rank r calibrates the contiguous block of
// batches [batch_nums r / N, batch_nums (r + 1) / N) and the ranks' states are merged in rank
// order after each pass (the min/max pass first, so that every rank's histograms cover the same
// range). Every rank returns the same thresholds, those of one process over all the batches:
// bit for bit for abs_max, KL, hist, mse and emd (maxima, integer bin counts and per-batch
// searches merge exactly); avg's sum of per-batch values is added in another order (relative
// difference ~1e-16); the dygraph KLQuantizer / HistQuantizer re-bin histograms of different
// ranges when they merge, so theirs are close but not equal.
// `progress` hears of each batch (a line to show) and of the end of each pass; the command shows
// them on its console, tests pass {}. `states` (optional) receives every activation's final
// statistics (histograms included).
struct CalibrationProgress {
  std::function<void(const std::string& line)> batch_done;
  std::function<void()> pass_done;
};
std::map<std::string, double> calibrate(const Graph& g, const PtqPlan& plan, const PtqConfig& c,
                                        const Dataset& data, DeviceContext& ctx,
                                        const CalibrationProgress& progress, Communicator& comm,
                                        std::map<std::string, CalibState>* states = nullptr);
// The same sweep for several calibrators at once (each algorithm of quant/calibration_compare.h),
// each fed exactly as calibrate feeds its one: the batches run forward once per pass, two passes
// when any calibrator needs them; one-pass calibrators observe during the first.
void run_calibration(const Graph& g, const PtqPlan& plan, const PtqConfig& c,
                     const std::vector<Calibrator*>& calibrators, const Dataset& data,
                     DeviceContext& ctx, const CalibrationProgress& progress, Communicator& comm);

struct QuantizedWeight {
  Tensor q;                       // int8 (or int16 for 16 bits), same shape as the weight
  std::vector<float> thresholds;  // per output channel (axis 0) or one
};
QuantizedWeight quantize_weight(const Tensor& w, bool per_channel, int bits, bool bias_correction);

struct QdqReport {
  int quantized_ops = 0;
  int quantized_activations = 0;
  int activation_pairs = 0;  // their quantize/dequantize pairs, one per reading node
  int int32_biases = 0;
  int clamped_biases = 0;  // bias values beyond int32 at scale s_x s_w (clamped)
};

// The QDQ graph of `g` for `plan` and the activation thresholds.
Graph build_qdq_graph(const Graph& g, const PtqPlan& plan, const std::map<std::string, double>& act_thresholds,
                      const PtqConfig& c, QdqReport* report = nullptr);

}  // namespace qf
