#include "launch/lib/calibration_report.h"

#include <cstdio>
#include <sstream>

#include "trainer/svg_chart.h"

namespace qf {
namespace {

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

// "output of node 'features.3.conv' (conv2d)" or "the model's input".
std::string origin(const Graph& g, const std::vector<int>& producers, const std::string& value) {
  const int p = producers[g.value_id(value)];
  if (p < 0) return "the model's input";
  const Node& n = g.nodes()[p];
  return "output of '" + n.name + "' (" + n.op + ")";
}

std::string threshold_table(const PtqPlan& plan, const CalibrationComparison& cmp) {
  std::ostringstream os;
  os << "<table>\n<tr><th>activation</th>";
  for (const std::string& a : cmp.algos)
    os << "<th>" << xml_escape(a) << (a == cmp.chosen ? " (used)" : "") << "</th>";
  os << "</tr>\n";
  for (const std::string& act : plan.activations) {
    os << "<tr><td class=\"name\"><a href=\"#" << xml_escape(act) << "\">" << xml_escape(act)
       << "</a></td>";
    for (const std::string& a : cmp.algos)
      os << (a == cmp.chosen ? "<td class=\"used\">" : "<td>") << fmt(cmp.thresholds.at(a).at(act))
         << "</td>";
    os << "</tr>\n";
  }
  os << "</table>\n";
  return os.str();
}

HistogramChart histogram(const std::string& act, const CalibrationComparison& cmp) {
  HistogramChart h;
  h.title = act;
  h.x.label = "|x|";
  h.y.label = "values per bin";
  h.y.log = true;
  const Histogram& src = cmp.histograms.at(act);
  h.lo = src.lo;
  h.hi = src.hi;
  h.counts = src.counts;
  coarsen(h, 128);
  for (const std::string& a : cmp.algos) {
    const double t = cmp.thresholds.at(a).at(act);
    h.markers.push_back(
        {a + " " + fmt(t) + (a == cmp.chosen ? " (used)" : ""), t, a == cmp.chosen, a});
  }
  return h;
}

}  // namespace

std::string calibration_report_html(const Graph& g, const PtqPlan& plan,
                                    const CalibrationComparison& cmp, const std::string& source,
                                    const std::string& batches) {
  const std::vector<int> producers = g.producers();
  std::ostringstream os;
  os << "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n"
        "<meta charset=\"utf-8\"/>\n<title>qforge ptq calibration: "
     << xml_escape(source)
     << "</title>\n<style>body{font-family:sans-serif;margin:24px;color:#222}"
        "table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;"
        "padding:3px 8px;text-align:right}td.name{text-align:left}td.used{font-weight:bold}"
        "svg{display:block;margin:4px 0 18px}p.origin{margin:16px 0 0;color:#555}</style>\n"
        "</head>\n<body>\n<h1>Calibration of "
     << xml_escape(source) << "</h1>\n<p>" << plan.activations.size()
     << " activations calibrated on " << xml_escape(batches) << "; the model uses <b>"
     << xml_escape(cmp.chosen)
     << "</b>. Each histogram counts |x| over all calibration batches; each line is the threshold "
        "T an algorithm picks (values beyond T saturate at int8's ends, scale T / 127).</p>\n"
        "<h2>Thresholds</h2>\n"
     << threshold_table(plan, cmp) << "<h2>Histograms</h2>\n";
  for (const std::string& act : plan.activations)
    os << "<p class=\"origin\" id=\"" << xml_escape(act) << "\">"
       << xml_escape(origin(g, producers, act)) << "</p>\n"
       << render_svg(histogram(act, cmp));
  os << "</body>\n</html>\n";
  return os.str();
}

}  // namespace qf
