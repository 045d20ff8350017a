// Classification metrics and the run's machine-readable log.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qf {

// Running top-1 / top-5 counts. A sample counts as top-k when fewer than k classes rank above its
// label (by logit, ties to the lower class index: see add). A sample whose logits hold a NaN or an
// infinity is never a hit: every comparison with NaN is false, so without this rule a row of NaNs
// would rank its label first and a diverged model would score 100%. Such samples are counted in
// `nonfinite` (and in `count`, as misses).
struct TopK {
  int64_t top1 = 0, top5 = 0, count = 0;
  int64_t nonfinite = 0;  // samples whose logits held NaN or inf
  double loss_sum = 0;    // sum of per-batch mean losses weighted by batch size

  void add(const float* logits, const int32_t* labels, int64_t n, int64_t classes);
  double top1_pct() const { return count ? 100.0 * top1 / count : 0; }
  double top5_pct() const { return count ? 100.0 * top5 / count : 0; }
  double mean_loss() const { return count ? loss_sum / count : 0; }
};

// A loss for a log line: "0.3521", or "nan (non-finite)" / "inf (non-finite)", so that a loss that
// is not a number never reads like a figure.
std::string format_loss(double loss);

// Something else that receives every record of a run's metrics log (TensorBoard files, reports).
class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  virtual void write(const nlohmann::json& record) = 0;
};

// Appends one JSON object per line to a file (kept across resumes; never truncated), and hands each
// record to its sinks.
class MetricsLog {
 public:
  MetricsLog() = default;                        // disabled until open()
  explicit MetricsLog(const std::string& path);  // empty path: disabled
  ~MetricsLog();
  // Starts appending to `path` (nothing when empty). A run opens its log only once its inputs
  // are validated, so a failed start leaves no file.
  void open(const std::string& path);
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void write(const nlohmann::json& record);
  void add_sink(std::unique_ptr<MetricsSink> sink);

 private:
  FILE* f_ = nullptr;
  std::vector<std::unique_ptr<MetricsSink>> sinks_;
};

}  // namespace qf
