// The qforge command as users meet it: bad input gives one clear line on stderr, exit code 2 and
// no partial output; a short training run writes its checkpoint and metrics, and `qforge eval` of
// that checkpoint reproduces the final evaluation.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/optional_deps.h"

namespace {

namespace fs = std::filesystem;

struct Result {
  int code;
  std::string out, err;
};

std::string read_file(const std::string& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Result run(const std::string& args) {
  const std::string dir = fs::temp_directory_path() / ("qf_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string cmd = std::string(QF_BINARY_DIR) + "/qforge " + args + " >" + dir +
                          "/out 2>" + dir + "/err";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(dir + "/out"),
          read_file(dir + "/err")};
}

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = fs::temp_directory_path() /
           ("qf_cli_case_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
  }
  void TearDown() override { fs::remove_all(tmp_); }
  void expect_input_error(const Result& r, const std::string& needle) {
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  }
  fs::path tmp_;
};

TEST_F(Cli, UnknownCommand) { expect_input_error(run("trian"), "unknown command 'trian'"); }

TEST_F(Cli, UnknownKeyListsValidOnes) {
  const Result r = run("train --optimizer.learning_rate 0.1");
  expect_input_error(r, "unknown option '--optimizer.learning_rate'");
  EXPECT_NE(r.err.find("--optimizer.lr"), std::string::npos);
}

TEST_F(Cli, BadValueNamesKeyValueAndAllowed) {
  expect_input_error(run("train --schedule.type step"),
                     "schedule.type: 'step' is not allowed (allowed: constant, piecewise, cosine)");
  expect_input_error(run("train --optimizer.lr -3"), "optimizer.lr: '-3' is out of range");
  expect_input_error(run("summary --model alexnet"), "model.name: 'alexnet' is not allowed");
}

TEST_F(Cli, SummaryMemoryPlansTheStepOrSaysTheBatchIsTooLarge) {
  const Result r = run("summary --model lenet --model.form small --memory --batch 8");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("activations kept for backward"), std::string::npos) << r.out;
  // ResNet50 at 65536 images needs terabytes: refused in one line, not an allocation failure.
  expect_input_error(run("summary --model resnet50 --memory --batch 65536"),
                     "summary.batch: 65536 is too large to plan here");
}

TEST_F(Cli, MissingConfigFile) {
  expect_input_error(run("train --config /nonexistent/x.ini"), "/nonexistent/x.ini");
}

TEST_F(Cli, MissingDatasetSaysWhatToProvideAndWritesNothing) {
  const std::string metrics = (tmp_ / "m.json").string();
  const std::string out = (tmp_ / "run").string();
  const Result r = run("train --model lenet --data.root " + (tmp_ / "nodata").string() +
                       " --metrics-out " + metrics + " --out " + out);
  expect_input_error(r, "dataset-fashion-mnist");
  EXPECT_FALSE(fs::exists(metrics));
  EXPECT_FALSE(fs::exists(out + "/checkpoint"));
}

TEST_F(Cli, TruncatedIdxFileIsNamed) {
  const fs::path root = tmp_ / "mnist";
  fs::create_directories(root);
  for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    std::ofstream o(root / f, std::ios::binary);
    const bool images = std::string(f).find("images") != std::string::npos;
    const unsigned char hdr[] = {0, 0, 8, static_cast<unsigned char>(images ? 3 : 1), 0, 0, 0, 10};
    o.write(reinterpret_cast<const char*>(hdr), sizeof hdr);
    if (images) {
      const unsigned char dims[] = {0, 0, 0, 28, 0, 0, 0, 28};
      o.write(reinterpret_cast<const char*>(dims), sizeof dims);
    }
    o << "xx";  // far fewer bytes than 10 samples need
  }
  const Result r = run("train --model lenet --data.root " + root.string());
  expect_input_error(r, "train-images-idx3-ubyte");
}

TEST_F(Cli, EvalNeedsSomethingToEvaluate) {
  expect_input_error(run("eval"), "--init");
}

TEST_F(Cli, ShortTrainingThenEvalReproducesTheFinalEvaluation) {
  QF_SKIP_UNLESS(fs::exists("/usr/share/datasets/fashion-mnist"),
                 "Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed");
  const std::string out = (tmp_ / "run").string();
  const std::string m1 = (tmp_ / "train.json").string(), m2 = (tmp_ / "eval.json").string();
  const Result t = run("train --config " + std::string(QF_SOURCE_DIR) +
                       "/configs/fashion_mnist/lenet.ini --train.steps_per_epoch 30 --threads 1"
                       " --out " + out + " --metrics-out " + m1);
  ASSERT_EQ(t.code, 0) << t.err;
  ASSERT_TRUE(fs::exists(out + "/checkpoint/model.safetensors"));
  ASSERT_TRUE(fs::exists(out + "/checkpoint/optimizer.safetensors"));
  ASSERT_TRUE(fs::exists(out + "/metrics.jsonl"));
  ASSERT_TRUE(fs::exists(out + "/config.ini"));
  const auto train = nlohmann::json::parse(read_file(m1));
  for (const char* k : {"top1", "top5", "loss", "images_per_sec", "epochs", "steps"})
    EXPECT_TRUE(train.contains(k)) << k;
  EXPECT_EQ(train["steps"], 30);
  EXPECT_GT(train["top1"].get<double>(), 30.0);  // 30 steps of LeNet is far above chance (10%)
  const Result e = run("eval --init " + out + "/checkpoint --threads 1 --metrics-out " + m2);
  ASSERT_EQ(e.code, 0) << e.err;
  const auto ev = nlohmann::json::parse(read_file(m2));
  EXPECT_DOUBLE_EQ(ev["top1"].get<double>(), train["top1"].get<double>());
  EXPECT_EQ(ev["count"], 10000);
}

}  // namespace
