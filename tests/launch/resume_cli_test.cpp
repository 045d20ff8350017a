// `qforge train --resume` and `--init` refuse a damaged checkpoint with one line naming the file
// and the field or tensor, exit code 2: a tensor missing from model.safetensors (before, it was
// silently re-initialised and the run exited 0), state fields out of range (epoch 10^15 or -5,
// global_step -7, seed 1.5), NaN weights. The undamaged checkpoint resumes.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "tests/launch/qforge_cli.h"
#include "tests/optional_deps.h"

namespace {

namespace fs = std::filesystem;
using qf::test::CliResult;

class ResumeCli : public qf::test::QforgeCliTest {
 protected:
  void SetUp() override {
    QforgeCliTest::SetUp();
    QF_SKIP_UNLESS(fs::exists("/usr/share/datasets/fashion-mnist"),
                   "Fashion-MNIST (dataset-fashion-mnist) is missing");
    const CliResult r = run("train --model lenet --threads 1 --data.workers 0 " + kSteps +
                            " --train.eval_each_epoch false --out " + (tmp_ / "run").string());
    ASSERT_EQ(r.code, 0) << r.err;
    good_ = (tmp_ / "run" / "checkpoint").string();
  }
  // A copy of the good checkpoint, to damage.
  std::string copy(const std::string& name) {
    const std::string dir = (tmp_ / name).string();
    fs::copy(good_, dir, fs::copy_options::recursive);
    return dir;
  }
  CliResult resume(const std::string& ckpt) {
    return run("train --threads 1 --data.workers 0 " + kSteps +
               " --train.epochs 2 "
               "--train.eval_each_epoch false --resume " +
               ckpt + " --out " + (tmp_ / "resumed").string());
  }
  void set_state(const std::string& dir, const std::string& field, const nlohmann::json& v) {
    nlohmann::json j = nlohmann::json::parse(qf::read_text_file(dir + "/state.json"));
    j[field] = v;
    qf::write_text_file_atomically(dir + "/state.json", j.dump());
  }
  const std::string kSteps = "--train.steps_per_epoch 3";
  std::string good_;
};

TEST_F(ResumeCli, MissingTensorIsNamed) {
  const std::string dir = copy("missing");
  qf::TensorMap m = qf::load_safetensors(dir + "/model.safetensors");
  ASSERT_EQ(m.erase("fc.2.bias"), 1u) << "LeNet's last layer is fc.2";
  qf::save_safetensors(dir + "/model.safetensors", m);
  expect_input_error(resume(dir), dir + "/model.safetensors: tensor 'fc.2.bias'");
  EXPECT_FALSE(fs::exists(tmp_ / "resumed"));
}

TEST_F(ResumeCli, StateFieldsOutOfRangeAreNamed) {
  const struct {
    const char* field;
    nlohmann::json value;
  } cases[] = {{"epoch", 1000000000000000}, {"epoch", -5}, {"global_step", -7}, {"seed", 1.5}};
  for (const auto& c : cases) {
    const std::string dir = copy(std::string("state_") + c.field + "_" + c.value.dump());
    set_state(dir, c.field, c.value);
    expect_input_error(resume(dir),
                       dir + "/state.json: field '" + c.field + "' is " + c.value.dump());
  }
  EXPECT_FALSE(fs::exists(tmp_ / "resumed"));
}

TEST_F(ResumeCli, NonFiniteWeightsAreRefusedForResumeAndInit) {
  const std::string dir = copy("nan");
  qf::TensorMap m = qf::load_safetensors(dir + "/model.safetensors");
  m.at("features.0.weight").data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  qf::save_safetensors(dir + "/model.safetensors", m);
  expect_input_error(resume(dir), "tensor 'features.0.weight' holds NaN");
  expect_input_error(run("eval --init " + dir + " --threads 1"),
                     "tensor 'features.0.weight' holds NaN");
  expect_input_error(run("train --model lenet --init " + dir + "/model.safetensors --out " +
                         (tmp_ / "init").string()),
                     "tensor 'features.0.weight' holds NaN");
  EXPECT_FALSE(fs::exists(tmp_ / "init"));
}

TEST_F(ResumeCli, TheGoodCheckpointResumes) {
  const CliResult r = resume(good_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("resume: " + good_ + " at epoch 2"), std::string::npos) << r.err;
}

}  // namespace
