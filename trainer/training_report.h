// report.html in a training run's folder (train, qat): the training curves drawn from the run's
// metrics records (trainer/metrics.h; fields in docs/metrics.md) — loss, top-1 and learning rate
// against the global step, training batches as lines and each epoch's test evaluation as points,
// plus images per second — and a table of the evaluations. One self-contained file (inline SVG,
// trainer/svg_chart.h), well-formed XML as well as HTML, so that tests parse it.
//
// TrainingReport is a MetricsLog sink: it starts from the records metrics.jsonl already holds (a
// resumed run's history), adds each new record, and rewrites the page atomically at every test
// evaluation (the end of an epoch), at most once a minute in between, and when the run ends
// (destruction, also when the run stops with an error: the curve up to a divergence is what one
// wants to see). A page that cannot be written is said once on the console; the run goes on (the
// metrics file is the record, the page a view of it).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "trainer/console.h"
#include "trainer/metrics.h"

namespace qf {

// The page for `records` (metrics records in order).
std::string training_report_html(const std::vector<nlohmann::json>& records,
                                 const std::string& title);

class TrainingReport : public MetricsSink {
 public:
  TrainingReport(const std::string& metrics_path, std::string html_path, std::string title,
                 Console& console);
  ~TrainingReport() override;
  void write(const nlohmann::json& record) override;
  // Writes the page now.
  void render();

 private:
  std::vector<nlohmann::json> records_;
  std::string html_path_, title_;
  Console& console_;
  bool dirty_ = false, failed_ = false;
  std::chrono::steady_clock::time_point last_render_;
};

}  // namespace qf
