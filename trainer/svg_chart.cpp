#include "trainer/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace qf {
namespace {

// Tableau's ten colours (the yellow darkened, to read as text on white): distinct for most kinds
// of colour blindness, and on print.
const char* const kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                "#b6992d", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
const char* colour(size_t i) {
  return kPalette[i % 10];
}

constexpr int kLeft = 70, kRight = 20, kBottom = 44, kLegendRow = 18;

// The legend: rows of entries (a colour sample and a name) under the title, wrapped to the width;
// the plot starts below the last row.
struct LegendEntry {
  std::string name, colour;
  bool dot = false;
};

struct Legend {
  std::vector<LegendEntry> entries;
  std::vector<std::pair<double, int>> at;  // x and row of each entry
  int rows = 1;
  int top() const { return 34 + kLegendRow * rows; }  // the plot area's top edge
};

Legend layout_legend(std::vector<LegendEntry> entries, int width) {
  Legend l;
  l.entries = std::move(entries);
  double x = kLeft;
  int row = 0;
  for (const LegendEntry& e : l.entries) {
    const double w = 23 + 6.8 * static_cast<double>(e.name.size()) + 16;  // ~6.8 px a character
    if (x > kLeft && x + w > width - kRight) x = kLeft, ++row;
    l.at.push_back({x, row});
    x += w;
  }
  l.rows = row + 1;
  return l;
}

std::string num(double v) {  // coordinates: one decimal is finer than a pixel
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", v);
  return b;
}

// Tick labels: 4 significant digits, thousands as k / M / G.
std::string tick_label(double v) {
  char b[32];
  const double a = std::fabs(v);
  if (a >= 1e9)
    std::snprintf(b, sizeof b, "%gG", v / 1e9);
  else if (a >= 1e6)
    std::snprintf(b, sizeof b, "%gM", v / 1e6);
  else if (a >= 1e4)
    std::snprintf(b, sizeof b, "%gk", v / 1e3);
  else
    std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

// A data range mapped onto pixels [p0, p1], with its tick values.
struct Scale {
  double lo = 0, hi = 1, p0 = 0, p1 = 1;
  bool log = false;
  std::vector<double> ticks;
  double operator()(double v) const {
    const double t = log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
                         : (v - lo) / (hi - lo);
    return p0 + t * (p1 - p0);
  }
};

// 1, 2 or 5 times a power of ten, close to `raw`.
double nice_step(double raw) {
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

Scale make_scale(double lo, double hi, bool log, double p0, double p1) {
  Scale s;
  s.log = log;
  s.p0 = p0;
  s.p1 = p1;
  if (!(lo <= hi) || !std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (log) {
    s.lo = std::pow(10.0, std::floor(std::log10(lo)));
    s.hi = std::pow(10.0, std::ceil(std::log10(hi)));
    if (s.hi <= s.lo) s.hi = s.lo * 10;
    for (double t = s.lo; t <= s.hi * 1.0001; t *= 10) s.ticks.push_back(t);
    return s;
  }
  if (hi - lo < 1e-12 * std::max(1.0, std::fabs(hi))) {  // one value: a unit-wide window around it
    const double pad = std::max(std::fabs(lo) * 0.1, 1e-3);
    lo -= pad;
    hi += pad;
  }
  const double step = nice_step((hi - lo) / 5);
  s.lo = std::floor(lo / step + 1e-9) * step;
  s.hi = std::ceil(hi / step - 1e-9) * step;
  for (double t = s.lo; t <= s.hi + step * 1e-6; t += step)
    s.ticks.push_back(std::fabs(t) < step * 1e-9 ? 0 : t);
  return s;
}

bool usable(double v, bool log) {
  return std::isfinite(v) && (!log || v > 0);
}

std::string open_svg(int w, int h, const std::string& title) {
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
     << "\" viewBox=\"0 0 " << w << " " << h << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
     << "<rect width=\"" << w << "\" height=\"" << h << "\" fill=\"#ffffff\"/>\n"
     << "<text class=\"title\" x=\"" << kLeft
     << "\" y=\"20\" font-size=\"14\" font-weight=\"bold\">" << xml_escape(title) << "</text>\n";
  return os.str();
}

// Grid lines, ticks, tick labels and axis labels for the plot area.
std::string axes(const Scale& x, const Scale& y, const ChartAxis& xa, const ChartAxis& ya, int w,
                 int h, int top) {
  std::ostringstream os;
  os << "<g class=\"axes\" stroke=\"#dddddd\">\n";
  for (double t : y.ticks)
    os << "<line x1=\"" << kLeft << "\" x2=\"" << w - kRight << "\" y1=\"" << num(y(t))
       << "\" y2=\"" << num(y(t)) << "\"/>\n";
  for (double t : x.ticks)
    os << "<line y1=\"" << top << "\" y2=\"" << h - kBottom << "\" x1=\"" << num(x(t)) << "\" x2=\""
       << num(x(t)) << "\"/>\n";
  os << "</g>\n<g class=\"ticks\" fill=\"#333333\">\n";
  for (double t : y.ticks)
    os << "<text x=\"" << kLeft - 6 << "\" y=\"" << num(y(t) + 4) << "\" text-anchor=\"end\">"
       << tick_label(t) << "</text>\n";
  for (double t : x.ticks)
    os << "<text x=\"" << num(x(t)) << "\" y=\"" << h - kBottom + 16 << "\" text-anchor=\"middle\">"
       << tick_label(t) << "</text>\n";
  os << "</g>\n<rect x=\"" << kLeft << "\" y=\"" << top << "\" width=\"" << w - kLeft - kRight
     << "\" height=\"" << h - top - kBottom << "\" fill=\"none\" stroke=\"#888888\"/>\n"
     << "<text x=\"" << (kLeft + w - kRight) / 2 << "\" y=\"" << h - 8
     << "\" text-anchor=\"middle\">" << xml_escape(xa.label) << (xa.log ? " (log)" : "")
     << "</text>\n"
     << "<text transform=\"translate(16 " << (top + h - kBottom) / 2
     << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(ya.label)
     << (ya.log ? " (log)" : "") << "</text>\n";
  return os.str();
}

std::string render_legend(const Legend& l) {
  std::ostringstream os;
  os << "<g class=\"legend\">\n";
  for (size_t i = 0; i < l.entries.size(); ++i) {
    const LegendEntry& e = l.entries[i];
    const double x = l.at[i].first, y = 36 + kLegendRow * l.at[i].second;
    if (e.dot)
      os << "<circle cx=\"" << num(x + 9) << "\" cy=\"" << num(y) << "\" r=\"3.5\" fill=\""
         << e.colour << "\"/>\n";
    else
      os << "<line x1=\"" << num(x) << "\" x2=\"" << num(x + 18) << "\" y1=\"" << num(y)
         << "\" y2=\"" << num(y) << "\" stroke=\"" << e.colour << "\" stroke-width=\"2.5\"/>\n";
    os << "<text x=\"" << num(x + 23) << "\" y=\"" << num(y + 4) << "\">" << xml_escape(e.name)
       << "</text>\n";
  }
  os << "</g>\n";
  return os.str();
}

// The markers' tags, right of their line (left of it near the plot's right edge), each on the
// first row from the top where it overlaps no tag already placed; a white halo keeps them
// readable over bars and grid lines.
std::string render_tags(const std::vector<ChartMarker>& markers, const Scale& xs, int top) {
  std::vector<std::vector<std::pair<double, double>>> rows;  // per row: the spans taken
  std::ostringstream os;
  os << "<g class=\"tags\" font-size=\"11\" stroke=\"#ffffff\" stroke-width=\"3\" "
        "paint-order=\"stroke\">\n";
  for (size_t k = 0; k < markers.size(); ++k) {
    const ChartMarker& m = markers[k];
    if (m.tag.empty()) continue;
    const double w = 6.2 * static_cast<double>(m.tag.size()), px = xs(m.x);
    const bool left = px + 3 + w > xs.p1;
    const double x0 = left ? px - 3 - w : px + 3, x1 = x0 + w;
    size_t row = 0;
    auto clashes = [&](const std::pair<double, double>& s) {
      return x0 < s.second && s.first < x1;
    };
    while (row < rows.size() && std::any_of(rows[row].begin(), rows[row].end(), clashes)) ++row;
    if (row == rows.size()) rows.emplace_back();
    rows[row].push_back({x0 - 2, x1 + 2});
    os << "<text class=\"tag\" data-label=\"" << xml_escape(m.label) << "\" x=\""
       << num(left ? px - 3 : px + 3) << "\" y=\"" << top + 12 + 13 * static_cast<int>(row)
       << "\" fill=\"" << colour(k) << "\"" << (left ? " text-anchor=\"end\"" : "") << ">"
       << xml_escape(m.tag) << "</text>\n";
  }
  os << "</g>\n";
  return os.str();
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string r;
  for (char c : text) {
    switch (c) {
      case '&':
        r += "&amp;";
        break;
      case '<':
        r += "&lt;";
        break;
      case '>':
        r += "&gt;";
        break;
      case '"':
        r += "&quot;";
        break;
      case '\'':
        r += "&#39;";
        break;
      default:
        r += c;
    }
  }
  return r;
}

std::string render_svg(const LineChart& c) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const ChartSeries& s : c.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], c.x.log) || !usable(s.y[i], c.y.log)) continue;
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  std::vector<LegendEntry> entries;
  for (size_t k = 0; k < c.series.size(); ++k)
    entries.push_back({c.series[k].name, colour(k), c.series[k].points});
  const Legend legend = layout_legend(std::move(entries), c.width);
  const int h = c.height + kLegendRow * (legend.rows - 1);
  const Scale xs = make_scale(x0, x1, c.x.log, kLeft, c.width - kRight);
  // A little room above and below, so that a value on a round number is not drawn on the frame;
  // not below zero for values that cannot be negative (a learning rate).
  const double pad = c.y.log || !(y1 > y0) ? 0 : 0.02 * (y1 - y0);
  const double bottom = y0 >= 0 ? std::max(0.0, y0 - pad) : y0 - pad;
  const Scale ys = make_scale(bottom, y1 + pad, c.y.log, h - kBottom, legend.top());
  std::ostringstream os;
  os << open_svg(c.width, h, c.title) << axes(xs, ys, c.x, c.y, c.width, h, legend.top());
  for (size_t k = 0; k < c.series.size(); ++k) {
    const ChartSeries& s = c.series[k];
    // Points, or a polyline per run of usable points: a NaN (or a value a log axis cannot show)
    // breaks the line, e.g. where an epoch's running means start again.
    std::vector<std::string> runs(1);
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], c.x.log) || !usable(s.y[i], c.y.log)) {
        if (!runs.back().empty()) runs.emplace_back();
        continue;
      }
      if (s.points)
        os << "<circle class=\"point\" data-series=\"" << xml_escape(s.name) << "\" cx=\""
           << num(xs(s.x[i])) << "\" cy=\"" << num(ys(s.y[i])) << "\" r=\"3.5\" fill=\""
           << colour(k) << "\"/>\n";
      else
        runs.back() += (runs.back().empty() ? "" : " ") + num(xs(s.x[i])) + "," + num(ys(s.y[i]));
    }
    for (const std::string& run : runs) {
      if (s.points || run.empty()) continue;
      const size_t comma = run.find(',');
      if (run.find(' ') == std::string::npos)  // a lone point (one record in an epoch): a dot
        os << "<circle class=\"point\" data-series=\"" << xml_escape(s.name) << "\" cx=\""
           << run.substr(0, comma) << "\" cy=\"" << run.substr(comma + 1) << "\" r=\"2.5\" fill=\""
           << colour(k) << "\"/>\n";
      else
        os << "<polyline class=\"series\" data-series=\"" << xml_escape(s.name) << "\" points=\""
           << run << "\" fill=\"none\" stroke=\"" << colour(k)
           << "\" stroke-width=\"1.8\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n";
    }
  }
  os << render_legend(legend) << "</svg>\n";
  return os.str();
}

std::string render_svg(const HistogramChart& c) {
  double peak = 0, floor_count = std::numeric_limits<double>::infinity();
  for (double v : c.counts)
    if (v > 0) peak = std::max(peak, v), floor_count = std::min(floor_count, v);
  double x1 = c.hi;
  for (const ChartMarker& m : c.markers) x1 = std::max(x1, m.x);
  std::vector<LegendEntry> entries;
  for (size_t k = 0; k < c.markers.size(); ++k) entries.push_back({c.markers[k].label, colour(k)});
  const Legend legend = layout_legend(std::move(entries), c.width);
  const int h = c.height + kLegendRow * (legend.rows - 1), top = legend.top();
  const Scale xs = make_scale(std::min(0.0, c.lo), x1, false, kLeft, c.width - kRight);
  const Scale ys =
      c.y.log ? make_scale(peak > 0 ? floor_count : 1, std::max(peak, 1.0), true, h - kBottom, top)
              : make_scale(0, std::max(peak, 1.0), false, h - kBottom, top);
  std::ostringstream os;
  os << open_svg(c.width, h, c.title) << axes(xs, ys, c.x, c.y, c.width, h, top)
     << "<g class=\"bars\" fill=\"#9aa9b8\">\n";
  const double w = c.counts.empty() ? 0 : (c.hi - c.lo) / static_cast<double>(c.counts.size());
  for (size_t i = 0; i < c.counts.size(); ++i) {
    if (!(c.counts[i] > 0)) continue;
    const double left = xs(c.lo + w * static_cast<double>(i)), right = xs(c.lo + w * (i + 1.0));
    const double bar_top = ys(c.counts[i]);
    os << "<rect class=\"bar\" x=\"" << num(left) << "\" y=\"" << num(bar_top) << "\" width=\""
       << num(std::max(right - left, 0.6)) << "\" height=\"" << num(ys.p0 - bar_top) << "\"/>\n";
  }
  os << "</g>\n";
  for (bool thick : {true, false})  // dashed lines over a solid one at the same x show both
    for (size_t k = 0; k < c.markers.size(); ++k) {
      const ChartMarker& m = c.markers[k];
      if (m.emphasized != thick) continue;
      os << "<line class=\"marker\" data-label=\"" << xml_escape(m.label) << "\" data-x=\"" << m.x
         << "\" x1=\"" << num(xs(m.x)) << "\" x2=\"" << num(xs(m.x)) << "\" y1=\"" << top
         << "\" y2=\"" << h - kBottom << "\" stroke=\"" << colour(k) << "\" stroke-width=\""
         << (thick ? 3.5 : 1.8) << "\"" << (thick ? "" : " stroke-dasharray=\"5 3\"") << "/>\n";
    }
  os << render_tags(c.markers, xs, top) << render_legend(legend) << "</svg>\n";
  return os.str();
}

void coarsen(HistogramChart& c, size_t max_bins) {
  const size_t n = c.counts.size();
  if (n <= max_bins || max_bins == 0) return;
  const size_t g = (n + max_bins - 1) / max_bins;
  const double w = (c.hi - c.lo) / static_cast<double>(n);
  std::vector<double> merged((n + g - 1) / g, 0.0);
  for (size_t i = 0; i < n; ++i) merged[i / g] += c.counts[i];
  c.hi = c.lo + w * static_cast<double>(merged.size() * g);
  c.counts = std::move(merged);
}

}  // namespace qf
