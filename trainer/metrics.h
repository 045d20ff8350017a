// Classification metrics and the run's machine-readable log.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace qf {

// Running top-1 / top-5 counts. A sample counts as top-k when fewer than k classes score strictly
// higher than its label (ties favour the label, as torch.topk-based accuracy does on most inputs).
struct TopK {
  int64_t top1 = 0, top5 = 0, count = 0;
  double loss_sum = 0;  // sum of per-batch mean losses weighted by batch size

  void add(const float* logits, const int32_t* labels, int64_t n, int64_t classes);
  double top1_pct() const { return count ? 100.0 * top1 / count : 0; }
  double top5_pct() const { return count ? 100.0 * top5 / count : 0; }
  double mean_loss() const { return count ? loss_sum / count : 0; }
};

// Appends one JSON object per line to a file (kept across resumes; never truncated).
class MetricsLog {
 public:
  explicit MetricsLog(const std::string& path);  // empty path: disabled
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void write(const nlohmann::json& record);

 private:
  FILE* f_ = nullptr;
};

}  // namespace qf
