// Every static calibration algorithm on the same calibration batches, for `qforge ptq --report`:
// the thresholds KL, hist, avg, mse, emd and abs_max each derive for every planned activation
// (with the run's bins and hist_percent), the configured algorithm's among them (a dygraph
// quantizer — KLQuantizer, HistQuantizer, AbsmaxQuantizer — is added as one more), and each
// activation's |x| histogram from the static KL / hist histogram pass (bins over [min|x|, max|x|],
// quant/calibration.h).
//
// The configured algorithm's thresholds are exactly what calibrate() returns: its calibrator sees
// the same batches in the same order; the others only ride along (quant/ptq.h run_calibration).
// Cost: the batches run forward twice (the histogram pass), and mse / emd search 36 candidate
// thresholds per batch and tensor, which is the bulk of the extra time on large activations.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "quant/ptq.h"

namespace qf {

struct CalibrationComparison {
  std::string chosen;              // the configured algorithm (ptq.algo)
  std::vector<std::string> algos;  // the algorithms compared, the static ones first
  // algorithm -> activation -> threshold T
  std::map<std::string, std::map<std::string, double>> thresholds;
  std::map<std::string, Histogram> histograms;  // activation -> |x| histogram
  std::map<std::string, CalibState> states;     // the configured algorithm's final statistics
};

// The static algorithms, in the order reports list them.
const std::vector<std::string>& static_calib_algos();

// Collective like calibrate() (every rank gets the same result).
CalibrationComparison calibrate_and_compare(const Graph& g, const PtqPlan& plan, const PtqConfig& c,
                                            const Dataset& data, DeviceContext& ctx,
                                            const CalibrationProgress& progress,
                                            Communicator& comm);

}  // namespace qf
