// Calibration statistics and thresholds (contract in quant/calibration.h).
#include "quant/calibration.h"

#include <algorithm>
#include <cmath>

#include "nn/error.h"

namespace qf {
namespace {

constexpr int64_t kChunk = 1 << 14;  // reductions sum fixed chunks in order: thread-count free

int64_t num_chunks(int64_t n) { return (n + kChunk - 1) / kChunk; }

// numpy.histogram's bin of v for `bins` bins over [lo, hi] (-1 when outside).
int64_t bin_of(double v, double lo, double hi, int64_t bins) {
  if (v < lo || v > hi) return -1;
  if (v == hi) return bins - 1;
  int64_t i = static_cast<int64_t>((v - lo) * (static_cast<double>(bins) / (hi - lo)));
  // The edge corrections numpy applies (edges from linspace).
  const double step = (hi - lo) / static_cast<double>(bins);
  if (i > 0 && v < lo + static_cast<double>(i) * step) --i;
  if (i < bins - 1 && v >= lo + static_cast<double>(i + 1) * step) ++i;
  return std::clamp<int64_t>(i, 0, bins - 1);
}

// Re-bins `src` onto `dst`'s range by spreading each source bin's count evenly over its width.
void rebin_into(Histogram& dst, const Histogram& src) {
  const int64_t nb = static_cast<int64_t>(dst.counts.size());
  const double dw = dst.width(), sw = src.width();
  for (size_t j = 0; j < src.counts.size(); ++j) {
    const double c = src.counts[j];
    if (c == 0) continue;
    const double a = src.lo + static_cast<double>(j) * sw, b = a + sw;
    if (sw <= 0 || dw <= 0) {
      const int64_t i = bin_of(a, dst.lo, dst.hi, nb);
      if (i >= 0) dst.counts[i] += c;
      continue;
    }
    int64_t i0 = static_cast<int64_t>(std::floor((a - dst.lo) / dw));
    for (int64_t i = std::max<int64_t>(i0, 0); i < nb; ++i) {
      const double l = dst.lo + static_cast<double>(i) * dw, r = l + dw;
      if (l >= b) break;
      const double overlap = std::min(b, r) - std::max(a, l);
      if (overlap > 0) dst.counts[i] += c * overlap / sw;
    }
  }
}

Histogram histogram_of(const float* x, int64_t n, double lo, double hi, int bins) {
  Histogram h;
  h.lo = lo;
  h.hi = hi;
  h.counts.assign(bins, 0.0);
  h.add_abs(x, n);
  return h;
}

float abs_max_of(const float* x, int64_t n) {
  float m = 0;
#pragma omp parallel for reduction(max : m) schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

}  // namespace

void Histogram::add_abs(const float* x, int64_t n) {
  double a = lo, b = hi;
  if (a == b) {  // numpy widens a zero-width range
    a -= 0.5;
    b += 0.5;
  }
  const int64_t bins = static_cast<int64_t>(counts.size());
  const int64_t chunks = num_chunks(n);
  // Integer counts per chunk: exact, so the order of summation does not matter.
#pragma omp parallel if (n > 65536)
  {
    std::vector<int64_t> local(bins, 0);
#pragma omp for schedule(static)
    for (int64_t c = 0; c < chunks; ++c)
      for (int64_t i = c * kChunk, e = std::min(n, (c + 1) * kChunk); i < e; ++i) {
        const int64_t k = bin_of(std::fabs(static_cast<double>(x[i])), a, b, bins);
        if (k >= 0) ++local[k];
      }
#pragma omp critical
    for (int64_t k = 0; k < bins; ++k) counts[k] += static_cast<double>(local[k]);
  }
}

void observe_range(CalibState& s, const float* x, int64_t n) {
  float mn = std::numeric_limits<float>::infinity(), mx = 0;
#pragma omp parallel for reduction(min : mn) reduction(max : mx) schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    mn = std::min(mn, a);
    mx = std::max(mx, a);
  }
  s.abs_min = std::min(s.abs_min, mn);
  s.abs_max = std::max(s.abs_max, mx);
}

void start_histogram(CalibState& s, const CalibConfig& c) {
  s.hist = Histogram{};
  s.hist.lo = std::isfinite(s.abs_min) ? s.abs_min : 0;
  s.hist.hi = s.abs_max;
  if (s.hist.lo == s.hist.hi) {
    s.hist.lo -= 0.5;
    s.hist.hi += 0.5;
  }
  s.hist.counts.assign(c.bins, 0.0);
}

double mean_sample_abs_max(const float* x, int64_t n, int64_t samples) {
  QF_CHECK(samples > 0 && n % samples == 0, "samples must divide the tensor");
  const int64_t per = n / samples;
  std::vector<double> m(samples);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t s = 0; s < samples; ++s) m[s] = abs_max_of(x + s * per, per);
  double sum = 0;
  for (double v : m) sum += v;
  return sum / static_cast<double>(samples);
}

SearchResult search_threshold(const float* x, int64_t n, int bits, bool emd) {
  const float bnt = static_cast<float>((1 << (bits - 1)) - 1);
  double m = abs_max_of(x, n);
  if (m == 0) m = 1e-8;
  std::vector<double> cand;
  for (double s = 0.3; s <= 1.0; s += 0.02) cand.push_back(s * m);
  const int64_t nc = static_cast<int64_t>(cand.size()), chunks = num_chunks(n);
  // Per chunk and candidate: sum (x - q)^2, sum q, sum q^2; and per chunk sum x, sum x^2.
  std::vector<double> part(chunks * (nc * 3 + 2), 0.0);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t c = 0; c < chunks; ++c) {
    double* p = &part[c * (nc * 3 + 2)];
    const int64_t b = c * kChunk, e = std::min(n, b + kChunk);
    for (int64_t i = b; i < e; ++i) {
      p[nc * 3] += x[i];
      p[nc * 3 + 1] += static_cast<double>(x[i]) * x[i];
    }
    for (int64_t k = 0; k < nc; ++k) {
      const float t = static_cast<float>(cand[k]);
      double se = 0, sq = 0, sq2 = 0;
      for (int64_t i = b; i < e; ++i) {
        // numpy's float32 arithmetic: clip(round(x / T * bnt), -bnt - 1, bnt) / bnt * T
        const float q = std::fmin(std::fmax(std::nearbyint(x[i] / t * bnt), -bnt - 1), bnt) / bnt * t;
        const double d = static_cast<double>(x[i]) - q;
        se += d * d;
        sq += q;
        sq2 += static_cast<double>(q) * q;
      }
      p[k * 3] = se;
      p[k * 3 + 1] = sq;
      p[k * 3 + 2] = sq2;
    }
  }
  std::vector<double> tot(nc * 3 + 2, 0.0);
  for (int64_t c = 0; c < chunks; ++c)
    for (size_t j = 0; j < tot.size(); ++j) tot[j] += part[c * (nc * 3 + 2) + j];
  const double N = static_cast<double>(n);
  const double mx = tot[nc * 3] / N, sx = std::sqrt(std::max(0.0, tot[nc * 3 + 1] / N - mx * mx));
  SearchResult best{std::numeric_limits<double>::infinity(), cand.back()};
  for (int64_t k = 0; k < nc; ++k) {
    double loss;
    if (emd) {
      const double mq = tot[k * 3 + 1] / N;
      const double sq = std::sqrt(std::max(0.0, tot[k * 3 + 2] / N - mq * mq));
      loss = std::fabs(mx - mq) + std::fabs(sx - sq);
    } else {
      loss = tot[k * 3] / N;
    }
    if (loss <= best.loss) best = {loss, cand[k]};
  }
  return best;
}

double kl_threshold(const std::vector<double>& H, double width, int bits) {
  const int64_t B = static_cast<int64_t>(H.size());
  const int64_t start = static_cast<int64_t>((B - 1) * 0.5);
  const int64_t Qn = (int64_t{1} << (bits - 1)) - 1;
  double p_sum = 0;
  for (double h : H) p_sum += h;
  std::vector<double> suffix(B + 1, 0.0);  // sum of H[i:]
  for (int64_t i = B; i-- > 0;) suffix[i] = suffix[i + 1] + H[i];
  bool found = false;
  double best_kl = 0;
  int64_t best_i = 0;
  std::vector<double> P, Q;
  for (int64_t i = std::max<int64_t>(start, 1); i < B; ++i) {
    if (H[i - 1] == 0) continue;
    P.assign(H.begin(), H.begin() + i);
    P[i - 1] += suffix[i];
    const int64_t n = i / Qn;
    Q.assign(i, 0.0);
    for (int64_t g = 0; g < Qn; ++g) {
      const int64_t b = g * n, e = g == Qn - 1 ? i : (g + 1) * n;
      double sum = 0;
      int64_t nonzero = 0;
      for (int64_t j = b; j < e; ++j) {
        sum += H[j];
        nonzero += P[j] != 0;
      }
      const double avg = nonzero ? sum / static_cast<double>(nonzero) : 0;
      for (int64_t j = b; j < e; ++j) Q[j] = P[j] == 0 ? 0 : avg;
    }
    double q_sum = 0;
    for (double q : Q) q_sum += q;
    double kl = 0;
    bool ok = true;
    for (int64_t j = 0; j < i; ++j) {
      if (P[j] == 0) continue;
      if (Q[j] == 0) {  // cannot happen for a non-degenerate histogram (see the header)
        ok = false;
        break;
      }
      kl += P[j] * (std::log(q_sum * P[j]) - std::log(p_sum * Q[j]));
    }
    if (!ok) continue;
    kl /= p_sum;
    if (!found || kl < best_kl) {
      found = true;
      best_kl = kl;
      best_i = i;
    }
  }
  if (!found) {
    int64_t s = start;
    while (s > 0 && H[s] == 0) --s;
    best_i = s;
  }
  return (static_cast<double>(best_i) + 0.5) * width;
}

double hist_threshold(const std::vector<double>& hist, double width, double percent, double offset) {
  double total = 0;
  for (double h : hist) total += h;
  double cum = 0;
  for (size_t i = 0; i < hist.size(); ++i) {
    cum += hist[i] / total;
    if (cum >= percent) return (static_cast<double>(i) + offset) * width;
  }
  return (static_cast<double>(hist.size()) - 1 + offset) * width;
}

Histogram expand_histogram(const Histogram& h, double new_max, int up) {
  const int64_t bins = static_cast<int64_t>(h.counts.size());
  const double w = h.hi / static_cast<double>(bins * up);
  const int64_t d = static_cast<int64_t>(std::ceil(new_max / (static_cast<double>(bins) * w)));
  Histogram r;
  r.lo = 0;
  r.hi = static_cast<double>(bins) * w * static_cast<double>(d);
  r.counts.assign(bins, 0.0);
  // Fine bin f (of bins * d) holds h[f / up] when f < bins * up; coarse bin j sums fine bins
  // [j d, (j + 1) d), divided by up.
  for (int64_t j = 0; j < bins; ++j) {
    double s = 0;
    for (int64_t f = j * d; f < (j + 1) * d && f < bins * up; ++f) s += h.counts[f / up];
    r.counts[j] = s / static_cast<double>(up);
  }
  return r;
}

void observe(CalibState& s, const CalibConfig& c, const float* x, int64_t n, int64_t samples) {
  ++s.batches;
  switch (c.algo) {
    case CalibAlgo::abs_max: s.abs_max = std::max(s.abs_max, abs_max_of(x, n)); return;
    case CalibAlgo::avg: s.avg_sum += mean_sample_abs_max(x, n, samples); return;
    case CalibAlgo::mse:
    case CalibAlgo::emd: {
      const SearchResult r = search_threshold(x, n, c.bits, c.algo == CalibAlgo::emd);
      if (r.loss <= s.best_loss) {
        s.best_loss = r.loss;
        s.best_threshold = r.threshold;
      }
      return;
    }
    case CalibAlgo::KL:
    case CalibAlgo::hist: break;
  }
  if (!c.dygraph) {
    QF_CHECK(!s.hist.counts.empty(), "static histogram used before start_histogram");
    s.hist.add_abs(x, n);
    return;
  }
  const float m = abs_max_of(x, n);
  if (m == 0) return;
  if (s.abs_max == 0) {
    s.hist = histogram_of(x, n, 0, m, c.bins);
    s.abs_max = m;
  } else if (m <= s.abs_max) {
    s.hist.add_abs(x, n);
  } else {
    s.hist = expand_histogram(s.hist, m, c.upsample_bins);
    s.abs_max = static_cast<float>(s.hist.hi);
    s.hist.add_abs(x, n);
  }
}

double calib_threshold(const CalibState& s, const CalibConfig& c) {
  switch (c.algo) {
    case CalibAlgo::abs_max: return s.abs_max;
    case CalibAlgo::avg: return s.batches ? s.avg_sum / static_cast<double>(s.batches) : 0;
    case CalibAlgo::mse:
    case CalibAlgo::emd: return s.best_threshold;
    case CalibAlgo::KL:
    case CalibAlgo::hist: break;
  }
  if (s.hist.counts.empty()) return s.abs_max;  // all zeros (dygraph keeps no histogram)
  double total = 0;
  for (double h : s.hist.counts) total += h;
  if (total == 0) return s.abs_max;
  if (c.algo == CalibAlgo::KL) return kl_threshold(s.hist.counts, s.hist.width(), c.bits);
  return hist_threshold(s.hist.counts, s.hist.width(), c.hist_percent, c.dygraph ? -0.5 : 0.5);
}

void CalibState::merge(const CalibState& o, const CalibConfig& c) {
  batches += o.batches;
  avg_sum += o.avg_sum;
  if (o.best_loss <= best_loss) {
    best_loss = o.best_loss;
    best_threshold = o.best_threshold;
  }
  if (o.hist.counts.empty()) {
    abs_min = std::min(abs_min, o.abs_min);
    abs_max = std::max(abs_max, o.abs_max);
    return;
  }
  if (hist.counts.empty()) {
    hist = o.hist;
  } else if (hist.lo == o.hist.lo && hist.hi == o.hist.hi && hist.counts.size() == o.hist.counts.size()) {
    for (size_t i = 0; i < hist.counts.size(); ++i) hist.counts[i] += o.hist.counts[i];
  } else {
    if (c.dygraph && o.hist.hi > hist.hi) hist = expand_histogram(hist, o.hist.hi, c.upsample_bins);
    Histogram wide = hist;
    if (o.hist.hi > wide.hi || o.hist.lo < wide.lo) {  // static ranges that were not merged first
      wide.lo = std::min(hist.lo, o.hist.lo);
      wide.hi = std::max(hist.hi, o.hist.hi);
      wide.counts.assign(hist.counts.size(), 0.0);
      rebin_into(wide, hist);
    }
    rebin_into(wide, o.hist);
    hist = std::move(wide);
  }
  abs_min = std::min(abs_min, o.abs_min);
  abs_max = c.dygraph ? static_cast<float>(hist.hi) : std::max(abs_max, o.abs_max);
}

const char* calib_algo_name(CalibAlgo a) {
  switch (a) {
    case CalibAlgo::KL: return "KL";
    case CalibAlgo::hist: return "hist";
    case CalibAlgo::avg: return "avg";
    case CalibAlgo::mse: return "mse";
    case CalibAlgo::emd: return "emd";
    case CalibAlgo::abs_max: return "abs_max";
  }
  return "?";
}

CalibConfig calib_config_for(const std::string& algo) {
  CalibConfig c;
  if (algo == "KL") c.algo = CalibAlgo::KL;
  else if (algo == "hist") c.algo = CalibAlgo::hist;
  else if (algo == "avg") c.algo = CalibAlgo::avg;
  else if (algo == "mse") c.algo = CalibAlgo::mse;
  else if (algo == "emd") c.algo = CalibAlgo::emd;
  else if (algo == "abs_max" || algo == "AbsmaxQuantizer") c.algo = CalibAlgo::abs_max;
  else if (algo == "KLQuantizer" || algo == "HistQuantizer") {
    c.algo = algo == "KLQuantizer" ? CalibAlgo::KL : CalibAlgo::hist;
    c.dygraph = true;
    c.bins = 1024;
    c.hist_percent = 0.99999;
  } else {  // ptq.algo is validated where it is parsed (launch/lib/quant_keys.cpp)
    QF_CHECK(false, "unknown calibration algorithm '", algo, "'");
  }
  return c;
}

}  // namespace qf
