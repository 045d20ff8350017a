#include "trainer/training_report.h"

#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "io/atomic_file.h"
#include "trainer/svg_chart.h"

namespace qf {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

double number_or_nan(const nlohmann::json& r, const char* key) {
  return r.contains(key) && r.at(key).is_number() ? r.at(key).get<double>()
                                                  : std::numeric_limits<double>::quiet_NaN();
}

// The records of one phase ("train", "qat") split into training-batch and evaluation series.
struct PhaseCurves {
  ChartSeries loss, top1, lr, speed, eval_loss, eval_top1;
  double epoch = 0;  // of the last training record
};

std::map<std::string, PhaseCurves> curves(const std::vector<nlohmann::json>& records) {
  std::map<std::string, PhaseCurves> by_phase;
  for (const nlohmann::json& r : records) {
    if (!r.contains("phase") || !r.contains("step") || !r.at("phase").is_string()) continue;
    std::string phase = r.at("phase").get<std::string>();
    const double step = r.at("step").get<double>();
    const bool eval = ends_with(phase, "_eval");
    if (eval) phase.resize(phase.size() - 5);
    PhaseCurves& c = by_phase[phase];
    const double epoch = number_or_nan(r, "epoch");
    if (!eval && epoch != c.epoch && !c.loss.x.empty())  // the running means start again
      for (ChartSeries* s : {&c.loss, &c.top1, &c.speed}) {
        s->x.push_back(step);
        s->y.push_back(std::numeric_limits<double>::quiet_NaN());
      }
    if (!eval) c.epoch = epoch;
    auto add = [&](ChartSeries& s, const char* key) {
      s.x.push_back(step);
      s.y.push_back(number_or_nan(r, key));
    };
    if (eval) {
      add(c.eval_loss, "loss");
      add(c.eval_top1, "top1");
    } else {
      add(c.loss, "loss");
      add(c.top1, "top1");
      add(c.lr, "lr");
      add(c.speed, "images_per_sec");
    }
  }
  for (auto& [phase, c] : by_phase) {
    c.loss.name = phase + ": training batches";
    c.top1.name = phase + ": training batches (running mean over the epoch)";
    c.eval_loss.name = c.eval_top1.name = phase + ": test set, end of epoch";
    c.eval_loss.points = c.eval_top1.points = true;
    c.lr.name = c.speed.name = phase;
  }
  return by_phase;
}

LineChart chart(const std::string& title, const std::string& y_label, bool log_y) {
  LineChart c;
  c.title = title;
  c.x.label = "global step";
  c.y.label = y_label;
  c.y.log = log_y;
  return c;
}

void add_if_any(LineChart& c, const ChartSeries& s) {
  if (!s.x.empty()) c.series.push_back(s);
}

std::string eval_table(const std::vector<nlohmann::json>& records) {
  std::ostringstream os;
  os << "<table>\n<tr><th>phase</th><th>epoch</th><th>step</th><th>top-1 %</th><th>top-5 %</th>"
        "<th>loss</th></tr>\n";
  char row[256];
  for (const nlohmann::json& r : records) {
    if (!r.contains("phase") || !ends_with(r.value("phase", ""), "_eval")) continue;
    std::snprintf(row, sizeof row,
                  "<tr><td>%s</td><td>%lld</td><td>%lld</td><td>%.2f</td><td>%.2f</td><td>%.4f</td>"
                  "</tr>\n",
                  xml_escape(r.at("phase").get<std::string>()).c_str(),
                  static_cast<long long>(number_or_nan(r, "epoch")),
                  static_cast<long long>(number_or_nan(r, "step")), number_or_nan(r, "top1"),
                  number_or_nan(r, "top5"), number_or_nan(r, "loss"));
    os << row;
  }
  os << "</table>\n";
  return os.str();
}

}  // namespace

std::string training_report_html(const std::vector<nlohmann::json>& records,
                                 const std::string& title) {
  LineChart loss = chart("Loss", "cross-entropy loss", true);
  LineChart top1 = chart("Top-1 accuracy", "top-1 (%)", false);
  LineChart lr = chart("Learning rate", "learning rate", false);
  LineChart speed = chart("Training throughput", "images per second", false);
  for (const auto& [phase, c] : curves(records)) {
    add_if_any(loss, c.loss);
    add_if_any(loss, c.eval_loss);
    add_if_any(top1, c.top1);
    add_if_any(top1, c.eval_top1);
    add_if_any(lr, c.lr);
    add_if_any(speed, c.speed);
  }
  std::ostringstream os;
  os << "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head>\n"
        "<meta charset=\"utf-8\"/>\n<title>"
     << xml_escape(title)
     << "</title>\n<style>body{font-family:sans-serif;margin:24px;color:#222}"
        "table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;"
        "padding:3px 10px;text-align:right}svg{display:block;margin:10px 0}</style>\n"
        "</head>\n<body>\n<h1>"
     << xml_escape(title) << "</h1>\n<p>" << records.size()
     << " records of metrics.jsonl (fields: docs/metrics.md).</p>\n<h2>Test evaluations</h2>\n"
     << eval_table(records) << "<h2>Curves</h2>\n";
  for (const LineChart* c : {&loss, &top1, &lr, &speed})
    if (!c->series.empty()) os << render_svg(*c);
  os << "</body>\n</html>\n";
  return os.str();
}

TrainingReport::TrainingReport(const std::string& metrics_path, std::string html_path,
                               std::string title, Console& console)
    : html_path_(std::move(html_path)), title_(std::move(title)), console_(console) {
  std::ifstream in(metrics_path);
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json r = nlohmann::json::parse(line, nullptr, false);
    if (r.is_object()) records_.push_back(r);  // a torn last line of a killed run is skipped
  }
  last_render_ = std::chrono::steady_clock::now();
}

TrainingReport::~TrainingReport() {
  if (dirty_) render();
}

void TrainingReport::write(const nlohmann::json& record) {
  records_.push_back(record);
  dirty_ = true;
  const bool epoch_end = ends_with(record.value("phase", ""), "_eval");
  if (epoch_end || std::chrono::steady_clock::now() - last_render_ > std::chrono::minutes(1))
    render();
}

void TrainingReport::render() {
  last_render_ = std::chrono::steady_clock::now();
  dirty_ = false;
  try {
    write_text_file_atomically(html_path_, training_report_html(records_, title_));
  } catch (const std::exception& e) {
    if (!failed_)
      console_.info(std::string("report: cannot write ") + html_path_ + ": " + e.what());
    failed_ = true;
  }
}

}  // namespace qf
