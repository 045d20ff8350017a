// Calibration algorithms pinned to hand-built histograms and tensors. Where an answer cannot be
// worked out by hand (the KL search, the mse / emd grids), the expected values were computed with
// a line-by-line numpy transcription of Paddle's cal_kl_threshold and _sample_mse / _sample_emd
// (ONNX-format quant-dequant) on the same inputs.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>

#include "nn/error.h"
#include "quant/calibration.h"

namespace qf {
namespace {

std::vector<double> exp_hist(int bins, double decay, double height) {
  std::vector<double> h(bins);
  for (int j = 0; j < bins; ++j) h[j] = std::round(height * std::exp(-j / decay));
  return h;
}

TEST(KlThreshold, HeavyTailClipsTheTail) {
  // Exponential decay over ~60 bins and a long flat tail of outliers from bin 1500 on.
  std::vector<double> h = exp_hist(2048, 60.0, 1e6);
  for (int j = 1500; j < 2048; ++j) h[j] = 3;
  EXPECT_NEAR(kl_threshold(h, 0.01, 8), (1523 + 0.5) * 0.01, 1e-12);
}

TEST(KlThreshold, GaussianWithSparseOutliers) {
  std::vector<double> h(2048);
  for (int j = 0; j < 2048; ++j) h[j] = std::round(1e5 * std::exp(-std::pow(j / 300.0, 2)));
  h[1800] = 7;
  h[2047] = 2;
  EXPECT_NEAR(kl_threshold(h, 0.5, 8), (1049 + 0.5) * 0.5, 1e-9);
}

TEST(KlThreshold, UniformKeepsEverything) {
  EXPECT_DOUBLE_EQ(kl_threshold(std::vector<double>(2048, 10.0), 1.0, 8), 2047.5);
}

TEST(KlThreshold, NothingToSearchWalksDownToTheLastNonEmptyBin) {
  // Mass only in bins 0..999: every candidate i >= 1023 has H[i-1] == 0.
  std::vector<double> h(2048, 0.0);
  for (int j = 0; j < 1000; ++j) h[j] = 5;
  EXPECT_DOUBLE_EQ(kl_threshold(h, 2.0, 8), (999 + 0.5) * 2.0);
}

TEST(KlThreshold, DygraphBinsStartAtHalf) {
  std::vector<double> h = exp_hist(1024, 40.0, 1e5);
  for (int j = 900; j < 1024; ++j) h[j] = 1;
  EXPECT_NEAR(kl_threshold(h, 0.02, 8), (1015 + 0.5) * 0.02, 1e-12);
}

TEST(HistThreshold, StaticAndDygraphConventions) {
  const std::vector<double> h = {4, 3, 2, 1};  // cumulative shares 0.4, 0.7, 0.9, 1.0
  EXPECT_DOUBLE_EQ(hist_threshold(h, 2.0, 0.65, 0.5), 1.5 * 2.0);   // static: (i + 0.5) w
  EXPECT_DOUBLE_EQ(hist_threshold(h, 2.0, 0.65, -0.5), 0.5 * 2.0);  // HistQuantizer: (i - 0.5) w
  EXPECT_DOUBLE_EQ(hist_threshold(h, 2.0, 0.95, 0.5), 3.5 * 2.0);
  EXPECT_DOUBLE_EQ(hist_threshold(h, 2.0, 0.3, 0.5), 0.5 * 2.0);
}

// A Laplace(0, 1) sample from a deterministic uniform grid.
std::vector<float> laplace(int n) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) {
    const double u = (((static_cast<int64_t>(i) * 7919) % 10007) + 0.5) / 10007.0 - 0.5;
    x[i] = static_cast<float>(-std::copysign(1.0, u) * std::log(1 - 2 * std::fabs(u)));
  }
  return x;
}

TEST(SearchThreshold, MseAndEmdGrid) {
  const std::vector<float> x = laplace(20000);
  const double m = 9.211040496826172;  // max |x|
  // The grid s = 0.30, 0.32, ... stops at 0.98: the 36th step accumulates to 1.0000000000000004.
  auto T = [&](int k) {
    double s = 0.3;
    for (int i = 0; i < k; ++i) s += 0.02;
    return s * m;
  };
  EXPECT_DOUBLE_EQ(search_threshold(x.data(), x.size(), 4, false).threshold, T(10));
  EXPECT_DOUBLE_EQ(search_threshold(x.data(), x.size(), 4, true).threshold, T(14));
  EXPECT_DOUBLE_EQ(search_threshold(x.data(), x.size(), 8, false).threshold, T(34));
  // A tensor exactly on the int8 grid of T = 0.98 m is reproduced without error there.
  std::vector<float> g;
  for (int q = -127; q <= 127; ++q) g.push_back(static_cast<float>(q * 0.98 / 127));
  g.push_back(1.0f);  // max |x| = 1, clipped to 0.98 by every candidate
  const SearchResult r = search_threshold(g.data(), g.size(), 8, false);
  EXPECT_DOUBLE_EQ(r.threshold, T(34) / m);
  EXPECT_NEAR(r.loss, 0.02 * 0.02 / g.size(), 1e-9);
}

TEST(Calibrate, AbsMaxAndAvg) {
  CalibConfig c = calib_config_for("avg");
  CalibState s;
  const float b1[] = {1, -2, 0.5f, 4};  // two samples: maxima 2 and 4 -> 3
  const float b2[] = {-5, 5, 1, 2};     // maxima 5 and 2 -> 3.5
  observe(s, c, b1, 4, 2);
  observe(s, c, b2, 4, 2);
  EXPECT_DOUBLE_EQ(calib_threshold(s, c), 3.25);
  c = calib_config_for("abs_max");
  CalibState a;
  observe(a, c, b1, 4, 2);
  observe(a, c, b2, 4, 2);
  EXPECT_DOUBLE_EQ(calib_threshold(a, c), 5.0);
}

TEST(Calibrate, StaticTwoPassHistogramFollowsNumpy) {
  CalibConfig c = calib_config_for("hist");
  c.bins = 4;
  c.hist_percent = 0.5;
  CalibState s;
  const float x[] = {-1, 2, 3, -5, 4, 5, 1.5f, 2.5f};
  observe_range(s, x, 8);
  EXPECT_EQ(s.abs_min, 1.f);
  EXPECT_EQ(s.abs_max, 5.f);
  start_histogram(s, c);
  observe(s, c, x, 8, 1);
  // Bins of width 1 over [1, 5]: [1,2) 1, 1.5 -> 2; [2,3) 2, 2.5 -> 2; [3,4) 3 -> 1; [4,5] 4, 5, 5.
  EXPECT_EQ(s.hist.counts, (std::vector<double>{2, 2, 1, 3}));
  // Half the mass is reached in bin 1: T = (1 + 0.5) * 1, measured from 0 (not from 1).
  EXPECT_DOUBLE_EQ(calib_threshold(s, c), 1.5);
}

TEST(Calibrate, DygraphRangeExpansionMerge) {
  Histogram h;
  h.lo = 0;
  h.hi = 4;
  h.counts = {1, 2, 3, 4};
  // w = 4 / (4 * 2) = 0.5, d = ceil(6 / 2) = 3, new range 6; fine bins
  // [1,1,2,2,3,3,4,4,0,0,0,0] summed by 3 -> [4, 8, 8, 0], / 2.
  const Histogram e = expand_histogram(h, 6.0, 2);
  EXPECT_DOUBLE_EQ(e.hi, 6.0);
  EXPECT_EQ(e.counts, (std::vector<double>{2, 4, 4, 0}));

  CalibConfig c = calib_config_for("HistQuantizer");
  c.bins = 4;
  c.upsample_bins = 2;
  c.hist_percent = 0.7;
  CalibState s;
  const float b1[] = {0.5f, 1.5f, 2.5f, 3.5f, 4.0f};  // range [0, 4]: bins 1, 1, 1, 2
  const float b2[] = {5.5f, 0.1f};                    // max 5.5 > 4: expand to 6, then add
  observe(s, c, b1, 5, 1);
  EXPECT_EQ(s.hist.counts, (std::vector<double>{1, 1, 1, 2}));
  observe(s, c, b2, 2, 1);
  // Expanded: w = 0.5, d = ceil(5.5 / 2) = 3 -> [1,1,1,1,1,1,2,2,0,0,0,0] by 3 -> [3,3,4,0] / 2,
  // then 0.1 -> bin 0 and 5.5 -> bin 3 of [0, 6].
  EXPECT_DOUBLE_EQ(s.abs_max, 6.f);
  EXPECT_EQ(s.hist.counts, (std::vector<double>{2.5, 1.5, 2, 1}));
  // Shares 2.5/7, 4/7, 6/7: the first >= 0.7 is bin 2 -> (2 - 0.5) * 6 / 4.
  EXPECT_DOUBLE_EQ(calib_threshold(s, c), 1.5 * 1.5);
}

TEST(CalibState, MergeEqualsOneProcessSeeingEveryBatch) {
  const std::vector<float> x = laplace(6000);
  for (const char* algo : {"KL", "hist", "avg", "mse", "emd", "abs_max"}) {
    const CalibConfig c = calib_config_for(algo);
    // One process: batches 0, 1, 2. Two "ranks": batches 0, 2 and batch 1.
    CalibState one, r0, r1;
    for (int pass = 0; pass < (c.two_pass() ? 2 : 1); ++pass) {
      const bool range = c.two_pass() && pass == 0;
      if (!range && c.two_pass()) {
        // The pass-1 statistics are merged (all-reduce MIN / MAX) before the histograms start.
        r0.merge(r1, c);
        r1.abs_min = r0.abs_min;
        r1.abs_max = r0.abs_max;
        start_histogram(one, c);
        start_histogram(r0, c);
        start_histogram(r1, c);
      }
      for (int b = 0; b < 3; ++b) {
        const float* p = x.data() + b * 2000;
        CalibState& r = b == 1 ? r1 : r0;
        if (range) {
          observe_range(one, p, 2000);
          observe_range(r, p, 2000);
        } else {
          observe(one, c, p, 2000, 4);
          observe(r, c, p, 2000, 4);
        }
      }
    }
    CalibState merged = r0;
    merged.merge(r1, c);
    EXPECT_DOUBLE_EQ(calib_threshold(merged, c), calib_threshold(one, c)) << algo;
  }
}

TEST(CalibState, MergeRebinsDifferentRanges) {
  CalibConfig c = calib_config_for("KLQuantizer");
  c.bins = 4;
  c.upsample_bins = 2;
  CalibState a, b;
  a.hist = {0, 4, {1, 2, 3, 4}};
  a.abs_max = 4;
  b.hist = {0, 6, {6, 0, 0, 6}};  // bins of width 1.5
  b.abs_max = 6;
  a.merge(b, c);
  // a expands to [0, 6] as in the test above ([2, 4, 4, 0]); b's bins line up exactly and add.
  EXPECT_DOUBLE_EQ(a.hist.hi, 6.0);
  EXPECT_EQ(a.hist.counts, (std::vector<double>{8, 4, 4, 6}));
  EXPECT_EQ(a.abs_max, 6.f);
}

TEST(Calibrate, ThresholdsDoNotDependOnTheThreadCount) {
  const std::vector<float> x = laplace(300000);
  for (const char* algo : {"KL", "mse", "emd", "avg", "KLQuantizer"}) {
    const CalibConfig c = calib_config_for(algo);
    double t[2];
    for (int k = 0; k < 2; ++k) {
      omp_set_num_threads(k == 0 ? 1 : 4);
      CalibState s;
      if (c.two_pass()) {
        observe_range(s, x.data(), x.size());
        start_histogram(s, c);
      }
      observe(s, c, x.data(), x.size(), 10);
      t[k] = calib_threshold(s, c);
    }
    omp_set_num_threads(omp_get_num_procs());
    EXPECT_EQ(t[0], t[1]) << algo;
  }
}

TEST(Calibrate, AlgoNamesAndDefaults) {
  EXPECT_EQ(calib_config_for("KL").bins, 2048);
  EXPECT_FALSE(calib_config_for("KL").dygraph);
  EXPECT_EQ(calib_config_for("KLQuantizer").bins, 1024);
  EXPECT_EQ(calib_config_for("HistQuantizer").hist_percent, 0.99999);
  EXPECT_EQ(calib_config_for("hist").hist_percent, 0.9999);
  EXPECT_EQ(calib_config_for("AbsmaxQuantizer").algo, CalibAlgo::abs_max);
  EXPECT_THROW(calib_config_for("kl"), InternalError);  // parsing rejected it before
}

}  // namespace
}  // namespace qf
