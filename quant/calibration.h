// Calibration for post-training quantization: per-tensor statistics gathered over calibration
// batches and the threshold T each algorithm derives from them (docs/quantization.md, "Static
// post-training quantization"; T is Paddle's clipping threshold, the ONNX scale is
// T / (2^(bits-1) - 1)).
//
// Static algorithms (quant_post_static):
//   abs_max  T = max over batches of max|x|
//   avg      T = mean over batches of (mean over the batch's samples of max|x_sample|)
//   mse      per batch: m = max|x| (0 -> 1e-8), candidates T = s m for s = 0.30, 0.32, ... while
//            s <= 1.0 (s accumulated in double, as Python does); loss = mean (x - qdq(x; T))^2 with
//            the ONNX-format quant-dequant qdq(x; T) = clip(round_half_even(x bnt / T), -bnt-1,
//            bnt) T / bnt. The (loss, T) with the lowest loss over ALL batches wins; `<=`, so later
//            candidates and batches win ties.
//   emd      the same search with loss = |mean(x) - mean(qdq)| + |std(x) - std(qdq)| (population
//   std) KL, hist two passes: pass 1 records min|x| and max|x|; pass 2 accumulates a 2048-bin
//   histogram
//            of |x| over [min|x|, max|x|] (numpy.histogram: right edge inclusive, values outside
//            dropped; a zero-width range is widened to [v - 0.5, v + 0.5]).
//            KL: kl_threshold below.  hist: first bin i whose cumulative share >= hist_percent
//            (0.9999), T = (i + 0.5) w. Both measure from 0, ignoring the histogram's lower edge.
// Dygraph quantizers (paddle PTQ):
//   KLQuantizer(bins 1024, upsample_bins 64) and HistQuantizer(bins 1024, upsample_bins 64,
//   hist_percent 0.99999): one pass; the first batch sets the range [0, M = max|x|]; a later
//   batch with max <= M adds its histogram over [0, M]; one with a larger max expands the range by
//   the range-expansion merge — fine width w = M / (bins upsample), d = ceil(max / (bins w)),
//   M' = bins w d; the old histogram repeated `upsample` times per bin, zero-padded to bins d fine
//   bins, summed in groups of d and divided by upsample — then adds its own histogram over
//   [0, M']. KLQuantizer: kl_threshold with w = M / bins. HistQuantizer: T = (i - 0.5) M / bins
//   (one bin lower than static hist). AbsmaxQuantizer: abs_max. An all-zero tensor: T = max = 0.
//
// kl_threshold(H, w, bits) — Paddle's cal_kl_threshold (TensorRT-style entropy calibration):
//   for i in [int((B - 1) / 2), B) with H[i-1] != 0:
//     P = H[0:i] with sum(H[i:]) added to P[i-1]; merge H[0:i] into 127 groups of n = i / 127 bins,
//     the last group taking everything from 126 n to i; expand each group's sum evenly over its
//     bins where P is non-zero -> Q; KL = sum_{P_j > 0} P_j (ln(Q_sum P_j) - ln(P_sum Q_j)) / P_sum
//     with P_sum = sum(H). The smallest KL wins (the first on ties). If no i qualifies: walk down
//   from int((B - 1) / 2) to the first non-empty bin. T = (i* + 0.5) w.
//
// A threshold of 0 (an all-zero tensor) is returned as 0; callers quantize with T = 1e-8, as
// Paddle's numpy helpers do.
//
// Merging across processes (mpirun -np N qforge ptq): every statistic lives in CalibState, a plain
// struct, and CalibState::merge combines two of them so that merging the states of N ranks equals
// one rank seeing all their batches:
//   abs_min / abs_max: min / max;  avg: per-batch values summed and counted;  mse / emd: the lower
//   loss wins (on a tie, `other`, as the later batch would);  histograms: counts add when the
//   ranges agree — for static KL/hist they do once pass 1's min/max are merged (all-reduce MIN/MAX)
//   before pass 2. When ranges differ (dygraph quantizers), the state with the smaller range is
//   first expanded with the range-expansion merge to cover the other's maximum, and the other
//   histogram is re-binned onto it by spreading each bin's count evenly over the bin's width.
// Statistics are computed in fixed-size chunks summed in order, so the thresholds do not depend on
// the number of threads.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace qf {

enum class CalibAlgo : uint8_t { KL, hist, avg, mse, emd, abs_max };

struct CalibConfig {
  CalibAlgo algo = CalibAlgo::KL;
  bool dygraph = false;        // KLQuantizer / HistQuantizer: one pass, range-expansion merge
  int bins = 2048;             // static: 2048; dygraph: 1024
  int upsample_bins = 64;      // dygraph only
  double hist_percent = 0.9999;  // hist: 0.9999 static (PaddleSlim), 0.99999 dygraph
  int bits = 8;
  // Whether KL/hist static calibration needs the min/max pass before the histogram pass.
  bool two_pass() const { return !dygraph && (algo == CalibAlgo::KL || algo == CalibAlgo::hist); }
};

struct Histogram {
  double lo = 0, hi = 0;        // the range the bins cover
  std::vector<double> counts;   // bin counts (fractional after up/down-sampling merges)
  double width() const { return counts.empty() ? 0 : (hi - lo) / static_cast<double>(counts.size()); }
  // Adds |x| for n values with numpy.histogram's rules (right edge inclusive, outside dropped).
  void add_abs(const float* x, int64_t n);
};

struct CalibState {
  int64_t batches = 0;
  float abs_min = std::numeric_limits<float>::infinity();
  float abs_max = 0;
  double avg_sum = 0;   // avg: sum over batches of the mean per-sample max
  double best_loss = std::numeric_limits<double>::infinity();  // mse / emd
  double best_threshold = 0;
  Histogram hist;       // KL / hist

  // Combines `other`'s statistics into this one (see the header comment).
  void merge(const CalibState& other, const CalibConfig& c);
};

// Pass 1 of two-pass static KL / hist: min and max of |x|.
void observe_range(CalibState& s, const float* x, int64_t n);
// Fixes the static histogram range from pass 1: `bins` bins over [abs_min, abs_max].
void start_histogram(CalibState& s, const CalibConfig& c);
// One calibration batch of a tensor: n values, `samples` samples (avg's per-sample maxima).
void observe(CalibState& s, const CalibConfig& c, const float* x, int64_t n, int64_t samples);
// The threshold T the configured algorithm derives from `s`.
double calib_threshold(const CalibState& s, const CalibConfig& c);

// The algorithms on their own (tests pin them to hand-built inputs).
double kl_threshold(const std::vector<double>& hist, double bin_width, int bits);
// First bin whose cumulative share reaches `percent`: T = (i + offset) w (offset 0.5 static,
// -0.5 for the dygraph HistQuantizer). If rounding keeps the share below `percent`, the last bin.
double hist_threshold(const std::vector<double>& hist, double bin_width, double percent,
                      double offset);
struct SearchResult {
  double loss, threshold;
};
// The mse / emd grid search on one batch.
SearchResult search_threshold(const float* x, int64_t n, int bits, bool emd);
// avg's per-batch value: mean over samples of max |x| (x holds `samples` equal-size samples).
double mean_sample_abs_max(const float* x, int64_t n, int64_t samples);
// The dygraph range-expansion merge of a histogram over [0, old_max] to cover new_max.
Histogram expand_histogram(const Histogram& h, double new_max, int upsample_bins);

// The calibration of an algorithm name (static names and dygraph quantizer names, ptq_algo_names;
// the command validated the name when it parsed it).
CalibConfig calib_config_for(const std::string& algo);
const char* calib_algo_name(CalibAlgo a);

}  // namespace qf
