// What qforge writes to be read, checked against what docs/metrics.md says: the test runs train
// (with --log.tensorboard), eval, bench, ptq (with --report) and qat once on Fashion-MNIST, then
//  - every --metrics-out file and every metrics.jsonl record holds exactly the keys the page's
//    schema tables list, with their types (so the page cannot drift from the files);
//  - the TensorBoard event files, read by tools/read_tfevents.py (google.protobuf and the format
//    spec, not qforge's code), carry every numeric metrics.jsonl field as <phase>/<field>;
//  - report.html and the ptq report are well-formed XML/HTML and draw the data: one point per
//    test evaluation, one line point per training record, one threshold marker per algorithm at
//    the thresholds the model uses.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "tests/launch/qforge_cli.h"
#include "tests/optional_deps.h"

namespace qf::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* kData = "/usr/share/datasets/fashion-mnist";
const char* kPython = "/usr/bin/python3";

// The schema tables of docs/metrics.md: name -> key -> type.
std::map<std::string, std::map<std::string, std::string>> documented_schemas() {
  std::ifstream in(std::string(QF_SOURCE_DIR) + "/docs/metrics.md");
  std::map<std::string, std::map<std::string, std::string>> r;
  const std::regex marker("<!-- schema: ([a-z_]+) -->");
  const std::regex row("^\\| `([a-z0-9_]+)` \\| ([a-z ]+) \\|");
  std::string line, current;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, marker)) {
      current = m[1];
      r[current];
    } else if (line.empty()) {
      current.clear();
    } else if (!current.empty() && std::regex_search(line, m, row)) {
      r[current][m[1]] = m[2];
    }
  }
  return r;
}

bool has_type(const json& v, const std::string& type) {
  if (type == "number") return v.is_number();
  if (type == "integer") return v.is_number_integer();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "number or null") return v.is_number() || v.is_null();
  ADD_FAILURE() << "docs/metrics.md uses an unknown type '" << type << "'";
  return false;
}

void expect_matches(const json& obj, const std::map<std::string, std::string>& schema,
                    const std::string& what) {
  ASSERT_TRUE(obj.is_object()) << what;
  ASSERT_FALSE(schema.empty()) << what << ": no schema table in docs/metrics.md";
  for (const auto& [key, type] : schema) {
    ASSERT_TRUE(obj.contains(key)) << what << " lacks documented key '" << key << "': " << obj;
    EXPECT_TRUE(has_type(obj.at(key), type))
        << what << "." << key << " is not " << type << ": " << obj.at(key);
  }
  for (const auto& [key, value] : obj.items())
    EXPECT_TRUE(schema.count(key))
        << what << " has key '" << key << "' that docs/metrics.md does not document";
}

json read_json(const fs::path& p) {
  return json::parse(std::ifstream(p));
}

std::vector<json> read_jsonl(const fs::path& p) {
  std::vector<json> r;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) r.push_back(json::parse(line));
  return r;
}

// stdout of /usr/bin/python3 SCRIPT ARGS, or "" with a test failure when it fails.
std::string python(const std::string& script_and_args, const fs::path& out) {
  const std::string cmd = std::string(kPython) + " " + script_and_args + " >" + out.string() +
                          " 2>" + out.string() + ".err";
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd << "\n" << read_text_file(out.string() + ".err");
  return read_text_file(out.string());
}

void every_metrics_out_file_holds_exactly_the_documented_keys(const fs::path& dir) {
  const auto schemas = documented_schemas();
  for (const char* cmd : {"train", "qat", "eval", "bench", "ptq"})
    expect_matches(read_json(dir / (std::string(cmd) + ".json")), schemas.at(cmd),
                   std::string(cmd) + " --metrics-out");
  const json ptq = read_json(dir / "ptq.json");
  EXPECT_FALSE(ptq["thresholds"].empty());
  for (const auto& [act, t] : ptq["thresholds"].items()) EXPECT_TRUE(t.is_number()) << act;
}

void every_metrics_jsonl_record_holds_the_documented_keys(const fs::path& dir) {
  const auto schemas = documented_schemas();
  for (const char* run : {"run", "qat"}) {
    int train = 0, eval = 0;
    for (const json& r : read_jsonl(dir / run / "metrics.jsonl")) {
      const std::string phase = r.at("phase").get<std::string>();
      const bool is_eval = phase.size() > 5 && phase.substr(phase.size() - 5) == "_eval";
      expect_matches(r, schemas.at(is_eval ? "jsonl_eval" : "jsonl_train"),
                     std::string(run) + "/metrics.jsonl (" + phase + ")");
      (is_eval ? eval : train) += 1;
    }
    EXPECT_GT(train, 0) << run;
    EXPECT_GT(eval, 0) << run;
  }
}

void tensorboard_events_carry_every_numeric_metrics_field(const fs::path& dir) {
  QF_SKIP_UNLESS(
      std::system((std::string(kPython) + " -c 'import google.protobuf' 2>/dev/null").c_str()) == 0,
      "/usr/bin/python3 cannot import google.protobuf (Debian package python3-protobuf)");
  const std::string out =
      python(std::string(QF_SOURCE_DIR) + "/tools/read_tfevents.py " + (dir / "tb").string(),
             dir / "tb.jsonl");
  std::map<std::pair<std::string, int64_t>, double> scalars;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    const json s = json::parse(line);
    scalars[{s["tag"].get<std::string>(), s["step"].get<int64_t>()}] = s["value"].get<double>();
  }
  size_t expected = 0;
  for (const json& r : read_jsonl(dir / "run" / "metrics.jsonl"))
    for (const auto& [key, v] : r.items()) {
      if (key == "epoch" || key == "step" || !v.is_number()) continue;
      ++expected;
      const auto it =
          scalars.find({r["phase"].get<std::string>() + "/" + key, r["step"].get<int64_t>()});
      ASSERT_NE(it, scalars.end()) << r["phase"] << "/" << key << " at step " << r["step"];
      EXPECT_EQ(it->second, static_cast<double>(static_cast<float>(v.get<double>()))) << key;
    }
  EXPECT_EQ(scalars.size(), expected);
}

void training_report_draws_every_record(const fs::path& dir) {
  const json page =
      json::parse(python(std::string(QF_SOURCE_DIR) + "/tests/launch/report_summary.py " +
                             (dir / "run" / "report.html").string(),
                         dir / "report.json"));
  const std::vector<json> records = read_jsonl(dir / "run" / "metrics.jsonl");
  int train = 0, eval = 0;
  for (const json& r : records) (r["phase"] == "train" ? train : eval) += 1;
  ASSERT_EQ(page["svgs"].size(), 4u) << page;
  EXPECT_EQ(page["svgs"][0]["title"], "Loss");
  EXPECT_EQ(page["svgs"][0]["series"]["train: training batches"], train);
  EXPECT_EQ(page["svgs"][0]["series"]["train: test set, end of epoch"], eval);
  EXPECT_EQ(page["svgs"][1]["title"], "Top-1 accuracy");
  EXPECT_EQ(page["svgs"][1]["series"]["train: test set, end of epoch"], eval);
  EXPECT_EQ(page["svgs"][2]["title"], "Learning rate");
  EXPECT_EQ(page["svgs"][2]["series"]["train"], train);
  EXPECT_EQ(page["tables"], 1);
}

void calibration_report_marks_every_algorithms_threshold(const fs::path& dir) {
  const json page =
      json::parse(python(std::string(QF_SOURCE_DIR) + "/tests/launch/report_summary.py " +
                             (dir / "pages" / "calib.html").string(),
                         dir / "calib.json"));
  const json used = read_json(dir / "ptq.json")["thresholds"];
  ASSERT_EQ(page["svgs"].size(), used.size()) << page;
  for (const json& svg : page["svgs"]) {
    const std::string act = svg["title"];
    ASSERT_TRUE(used.contains(act)) << act;
    EXPECT_GT(svg["bars"].get<int>(), 0) << act;
    ASSERT_EQ(svg["markers"].size(), 6u) << act;  // KL, hist, avg, mse, emd, abs_max
    EXPECT_EQ(svg["tags"], json({"KL", "hist", "avg", "mse", "emd", "abs_max"})) << act;
    int chosen = 0;
    for (const json& m : svg["markers"]) {
      const std::string label = m[0];
      if (label.find("(used)") == std::string::npos) continue;
      ++chosen;
      EXPECT_EQ(label.rfind("KL ", 0), 0u) << label;
      EXPECT_NEAR(m[1].get<double>(), used[act].get<double>(),
                  1e-5 * used[act].get<double>() + 1e-12)
          << act;
    }
    EXPECT_EQ(chosen, 1) << act;
  }
}

// One test, so that the commands run once (ctest runs each test of a program on its own).
TEST(MetricsFiles, MatchTheDocsAndFeedTensorBoardAndTheReports) {
  QF_SKIP_UNLESS(fs::exists(kData),
                 "Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed");
  QF_SKIP_UNLESS(fs::exists(kPython), "no /usr/bin/python3 (Debian package python3)");
  const fs::path dir = fs::temp_directory_path() / ("qf_metrics_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string d = dir.string(), ck = d + "/run/checkpoint";
  const std::string common = " --threads 2 --data.eval_batch_size 1000";
  // ptq's --report goes to a folder that does not exist yet: made as --metrics-out's are.
  const std::vector<std::string> runs = {
      "train --model lenet --epochs 2 --train.steps_per_epoch 12 --train.log_every 5" + common +
          " --out " + d + "/run --metrics-out " + d + "/train.json --log.tensorboard " + d + "/tb",
      "eval --init " + ck + common + " --metrics-out " + d + "/eval.json",
      "bench --init " + ck + " --threads 2 --iters 3 --warmup 1 --metrics-out " + d + "/bench.json",
      "ptq --init " + ck + " --threads 2 --algo KL --batch-nums 3 --batch-size 16 --out " + d +
          "/int8.onnx --metrics-out " + d + "/ptq.json --report " + d + "/pages/calib.html",
      "qat --init " + ck + common + " --train.steps_per_epoch 5 --out " + d +
          "/qat --metrics-out " + d + "/qat.json"};
  for (const std::string& args : runs) {
    const std::string log = d + "/log.txt";
    const int status = std::system(
        (std::string(QF_BINARY_DIR) + "/qforge " + args + " >" + log + " 2>&1").c_str());
    ASSERT_EQ(status, 0) << "qforge " << args << "\n" << read_text_file(log);
  }
  {
    SCOPED_TRACE("--metrics-out files");
    every_metrics_out_file_holds_exactly_the_documented_keys(dir);
  }
  {
    SCOPED_TRACE("metrics.jsonl");
    every_metrics_jsonl_record_holds_the_documented_keys(dir);
  }
  {
    SCOPED_TRACE("TensorBoard");
    tensorboard_events_carry_every_numeric_metrics_field(dir);
  }
  {
    SCOPED_TRACE("report.html");
    training_report_draws_every_record(dir);
  }
  {
    SCOPED_TRACE("ptq --report");
    calibration_report_marks_every_algorithms_threshold(dir);
  }
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

// Without evaluation there is no test figure: the console says so and the metrics file holds
// null, never a 0 that reads as a measured top-1.
TEST(MetricsFiles, NoEvaluationGivesNullTestFiguresNotZero) {
  QF_SKIP_UNLESS(fs::exists(kData),
                 "Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed");
  const fs::path dir = fs::temp_directory_path() / ("qf_noeval_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string d = dir.string(), log = d + ".log";
  const std::string args = "train --model lenet --epochs 1 --train.steps_per_epoch 3 --threads 2 "
                           "--train.eval_each_epoch false --out " + d + " --metrics-out " + d +
                           "/train.json";
  const int status =
      std::system((std::string(QF_BINARY_DIR) + "/qforge " + args + " >" + log + " 2>&1").c_str());
  ASSERT_EQ(status, 0) << "qforge " << args << "\n" << read_text_file(log);
  EXPECT_NE(read_text_file(log).find("test not evaluated (train.eval_each_epoch false)"),
            std::string::npos)
      << read_text_file(log);
  const json m = read_json(dir / "train.json");
  EXPECT_TRUE(m.at("top1").is_null()) << m;
  EXPECT_TRUE(m.at("top5").is_null()) << m;
  expect_matches(m, documented_schemas().at("train"), "train --metrics-out without evaluation");
  fs::remove_all(dir);
  fs::remove(log);
}

}  // namespace
}  // namespace qf::test
