// The SVG charts of the run and calibration reports: what each element says about the data
// (tests/launch/metrics_schema_test.cpp checks the whole pages; tools/screenshot_report.sh is how a
// person looks at them).
#include "trainer/svg_chart.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <regex>

namespace qf {
namespace {

std::vector<std::string> all(const std::string& text, const std::string& pattern) {
  std::vector<std::string> r;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it)
    r.push_back(it->size() > 1 ? (*it)[1].str() : it->str());
  return r;
}

TEST(SvgChart, ANonFiniteValueBreaksTheLineAndALonePointIsADot) {
  LineChart c;
  c.title = "Loss";
  const double nan = std::nan("");
  c.series.push_back({"train", {1, 2, 3, 4, 5, 6}, {3, 2, nan, 1.5, nan, 1}});
  c.series.push_back({"test", {3, 6}, {2.5, 1.2}, true});
  const std::string svg = render_svg(c);
  const auto lines =
      all(svg, "<polyline class=\"series\" data-series=\"train\" points=\"([^\"]*)\"");
  ASSERT_EQ(lines.size(), 1u) << svg;  // 1-2; 4 and 6 stand alone
  EXPECT_EQ(all(lines[0], "[0-9.]+,[0-9.]+").size(), 2u);
  EXPECT_EQ(all(svg, "<circle class=\"point\" data-series=\"train\"").size(), 2u);
  EXPECT_EQ(all(svg, "<circle class=\"point\" data-series=\"test\"").size(), 2u);
  EXPECT_EQ(all(svg, "<text class=\"title\"[^>]*>Loss</text>").size(), 1u);
}

TEST(SvgChart, LinearTicksAreNiceAndCoverTheData) {
  LineChart c;
  c.series.push_back({"lr", {0, 120}, {0.0003, 0.0097}});
  const std::string svg = render_svg(c);
  const auto labels = all(svg, "text-anchor=\"end\">([^<]*)</text>");  // the y tick labels
  EXPECT_EQ(labels, (std::vector<std::string>{"0", "0.002", "0.004", "0.006", "0.008", "0.01"}));
}

TEST(SvgChart, LogTicksArePowersOfTen) {
  HistogramChart h;
  h.y.log = true;
  h.lo = 0;
  h.hi = 4;
  h.counts = {30000, 200, 0, 3};
  const std::string svg = render_svg(h);
  const auto labels = all(svg, "text-anchor=\"end\">([^<]*)</text>");
  EXPECT_EQ(labels, (std::vector<std::string>{"1", "10", "100", "1000", "10k", "100k"}));
  EXPECT_EQ(all(svg, "class=\"bar\"").size(), 3u);  // an empty bin draws nothing
}

// Two thresholds at the same value: both lines are there (the used one solid, drawn first so the
// dashed one over it shows), and their tags are on different rows so both names can be read.
TEST(SvgChart, CoincidingMarkersKeepReadableTags) {
  HistogramChart h;
  h.lo = 0;
  h.hi = 10;
  h.counts = std::vector<double>(10, 5);
  h.markers = {{"hist 9.9", 9.9, false, "hist"},
               {"KL 9.9 (used)", 9.9, true, "KL"},
               {"avg 2", 2, false, "avg"}};
  const std::string svg = render_svg(h);
  const auto markers = all(svg, "<line class=\"marker\" data-label=\"([^\"]*)\"");
  EXPECT_EQ(markers, (std::vector<std::string>{"KL 9.9 (used)", "hist 9.9", "avg 2"}));
  EXPECT_EQ(all(svg, "stroke-dasharray").size(), 2u);
  const std::regex tag(
      "<text class=\"tag\" data-label=\"([^\"]*)\" x=\"([0-9.]+)\" y=\"([0-9]+)\"");
  std::map<std::string, std::pair<double, int>> at;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator();
       ++it)
    at[(*it)[1]] = {std::stod((*it)[2]), std::stoi((*it)[3])};
  ASSERT_EQ(at.size(), 3u) << svg;
  EXPECT_NE(at["hist 9.9"].second, at["KL 9.9 (used)"].second);
  EXPECT_EQ(at["avg 2"].second, at["hist 9.9"].second);  // far apart: the same (top) row
  EXPECT_LT(at["avg 2"].second, at["KL 9.9 (used)"].second);
  // Near the right edge the tags end at their line instead of running out of the plot.
  EXPECT_EQ(all(svg, "text-anchor=\"end\">(hist|KL)</text>").size(), 2u);
}

TEST(SvgChart, CoarsenKeepsEveryCountAndTheBinWidth) {
  HistogramChart h;
  h.lo = 0;
  h.hi = 2048;
  h.counts.resize(2048);
  std::iota(h.counts.begin(), h.counts.end(), 0.0);
  coarsen(h, 128);
  ASSERT_EQ(h.counts.size(), 128u);
  EXPECT_EQ(h.hi, 2048);
  EXPECT_EQ(h.counts[1], 16 * 16 + 120);  // 16..31
  h.counts.assign(100, 1.0);
  h.hi = 100;
  coarsen(h, 30);  // groups of 4: 25 bins, as wide as before times 4
  EXPECT_EQ(h.counts.size(), 25u);
  EXPECT_EQ(std::accumulate(h.counts.begin(), h.counts.end(), 0.0), 100);
  h.counts.assign(10, 1.0);
  h.hi = 10;
  coarsen(h, 4);  // groups of 3, the last one padded: hi moves to 12
  EXPECT_EQ(h.counts, (std::vector<double>{3, 3, 3, 1}));
  EXPECT_EQ(h.hi, 12);
}

TEST(SvgChart, TextIsEscaped) {
  EXPECT_EQ(xml_escape("a<b & 'c' > \"d\""), "a&lt;b &amp; &#39;c&#39; &gt; &quot;d&quot;");
  LineChart c;
  c.title = "<script>";
  c.series.push_back({"x&y", {1}, {1}});
  const std::string svg = render_svg(c);
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_NE(svg.find("data-series=\"x&amp;y\""), std::string::npos);
}

}  // namespace
}  // namespace qf
