// Charts as self-contained SVG text, for the reports a run writes beside its other outputs
// (training curves in the run folder, calibration histograms beside a PTQ model). No script, no
// font or stylesheet to fetch: the file opens offline in any browser and survives being mailed or
// checked in. docs/metrics.md says why qforge draws them itself.
//
// Geometry: a plot area inside margins (left for the y tick labels, bottom for the x ones, top for
// the title and the legend). Axis ranges come from the data, padded to "nice" tick values
// (1, 2 or 5 times a power of ten); a log axis ticks at powers of ten. Every element a reader
// (or a test) may look for carries a class: "series" polylines and "point" circles with a
// data-series attribute, "marker" lines with data-label and data-x, "tag" texts with data-label,
// "bar" rectangles.
#pragma once

#include <string>
#include <vector>

namespace qf {

struct ChartAxis {
  std::string label;
  bool log = false;  // logarithmic (values <= 0 are left out)
};

struct ChartSeries {
  std::string name;
  std::vector<double> x, y;  // equal lengths; a non-finite point is left out and breaks the line
  bool points = false;       // circles at each point instead of a line
};

struct LineChart {
  std::string title;
  ChartAxis x, y;
  std::vector<ChartSeries> series;
  int width = 720, height = 300;
};

// A vertical line at x with a legend entry "label" and, when `tag` is set, that short name written
// beside the line's top: lines at (nearly) the same x hide each other, their tags do not (tags that
// would collide are stacked).
struct ChartMarker {
  std::string label;
  double x = 0;
  bool emphasized = false;  // drawn thick and solid, under the others (e.g. the threshold in use)
  std::string tag;
};

struct HistogramChart {
  std::string title;
  ChartAxis x, y;              // y: counts (log scale by default in the reports)
  double lo = 0, hi = 0;       // the range the bins cover
  std::vector<double> counts;  // equal-width bins over [lo, hi]
  std::vector<ChartMarker> markers;
  int width = 720, height = 260;
};

std::string render_svg(const LineChart& chart);
std::string render_svg(const HistogramChart& chart);

// Text made safe inside XML element content and attribute values.
std::string xml_escape(const std::string& text);

// At most `max_bins` bins, by summing runs of g = ceil(bins / max_bins) neighbours; the last run is
// padded with empty bins, so `hi` moves up to keep every bin g times as wide.
void coarsen(HistogramChart& chart, size_t max_bins);

}  // namespace qf
