#include "trainer/metrics.h"

#include <cerrno>
#include <cmath>
#include <cstring>

#include "nn/error.h"

namespace qf {

void TopK::add(const float* logits, const int32_t* labels, int64_t n, int64_t classes) {
  for (int64_t i = 0; i < n; ++i) {
    const float* row = logits + i * classes;
    bool finite = true;
    for (int64_t k = 0; k < classes; ++k) finite &= std::isfinite(row[k]);
    if (!finite) {
      ++nonfinite;
      continue;
    }
    const float target = row[labels[i]];
    // The label's rank when classes are ordered by logit, ties broken by the lower class index
    // (argmax's convention: torch, numpy, ONNX Runtime scripts). Counting every tie as a hit
    // would score a model with equal logits as perfect.
    int64_t higher = 0;
    for (int64_t k = 0; k < classes; ++k)
      higher += row[k] > target || (row[k] == target && k < labels[i]);
    top1 += higher < 1;
    top5 += higher < 5;
  }
  count += n;
}

std::string format_loss(double loss) {
  char buf[64];
  if (std::isfinite(loss))
    std::snprintf(buf, sizeof buf, "%.4f", loss);
  else
    std::snprintf(buf, sizeof buf, "%s (non-finite)",
                  std::isnan(loss) ? "nan"
                  : loss > 0       ? "inf"
                                   : "-inf");
  return buf;
}

MetricsLog::MetricsLog(const std::string& path) {
  open(path);
}

void MetricsLog::open(const std::string& path) {
  QF_CHECK(!f_, "metrics log opened twice");
  if (path.empty()) return;
  f_ = std::fopen(path.c_str(), "a");
  if (!f_) throw_input_error("metrics log '", path, "' cannot be opened: ", std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (f_) std::fclose(f_);
}

void MetricsLog::write(const nlohmann::json& record) {
  if (f_) {
    const std::string line = record.dump() + "\n";
    std::fwrite(line.data(), 1, line.size(), f_);
    std::fflush(f_);
  }
  for (const auto& sink : sinks_) sink->write(record);
}

void MetricsLog::add_sink(std::unique_ptr<MetricsSink> sink) { sinks_.push_back(std::move(sink)); }

}  // namespace qf
