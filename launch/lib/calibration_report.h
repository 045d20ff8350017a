// `qforge ptq --report FILE.html`: one self-contained page (inline SVG, trainer/svg_chart.h; also
// well-formed XML) with, for every calibrated activation in graph order, the histogram of |x| over
// the calibration batches (log-scale counts) and a vertical line at the threshold each algorithm
// gives it (quant/calibration_compare.h), the configured one drawn solid and thicker; above them a
// table of all thresholds. Where the lines fall against the histogram's tail is what tells KL from
// hist from abs_max on a given model.
#pragma once

#include <string>

#include "nn/graph.h"
#include "quant/calibration_compare.h"

namespace qf {

// `source`: the model file or checkpoint, for the page's heading; `batches`: e.g. "10 x 32
// samples of ..." for the same.
std::string calibration_report_html(const Graph& g, const PtqPlan& plan,
                                    const CalibrationComparison& cmp, const std::string& source,
                                    const std::string& batches);

}  // namespace qf
