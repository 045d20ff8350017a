#include "quant/calibration_compare.h"

#include <algorithm>
#include <memory>

namespace qf {

const std::vector<std::string>& static_calib_algos() {
  static const std::vector<std::string> a = {"KL", "hist", "avg", "mse", "emd", "abs_max"};
  return a;
}

CalibrationComparison calibrate_and_compare(const Graph& g, const PtqPlan& plan, const PtqConfig& c,
                                            const Dataset& data, DeviceContext& ctx,
                                            const CalibrationProgress& progress,
                                            Communicator& comm) {
  CalibrationComparison r;
  r.chosen = c.algo;
  r.algos = static_calib_algos();
  if (std::find(r.algos.begin(), r.algos.end(), c.algo) == r.algos.end()) r.algos.push_back(c.algo);
  std::vector<std::unique_ptr<Calibrator>> owned;
  std::vector<Calibrator*> calibrators;
  for (const std::string& algo : r.algos) {
    PtqConfig one = c;  // the run's bins, hist_percent, upsample_bins and bits
    one.algo = algo;
    owned.push_back(std::make_unique<Calibrator>(g, plan, one.calib()));
    calibrators.push_back(owned.back().get());
  }
  run_calibration(g, plan, c, calibrators, data, ctx, progress, comm);
  for (size_t i = 0; i < r.algos.size(); ++i) r.thresholds[r.algos[i]] = owned[i]->thresholds();
  for (const auto& [name, state] : owned[0]->states()) r.histograms[name] = state.hist;  // KL's
  const auto chosen = std::find(r.algos.begin(), r.algos.end(), c.algo) - r.algos.begin();
  r.states = owned[static_cast<size_t>(chosen)]->states();
  return r;
}

}  // namespace qf
