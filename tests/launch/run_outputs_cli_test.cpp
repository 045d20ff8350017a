// Output paths are checked before a command does any work, and a run that fails to start leaves
// nothing behind: `--out /`, a path inside a regular file or in /proc, an unusable --metrics-out
// or test-model folder are one-line errors with exit code 2 that write nothing; a run whose
// inputs are bad (a missing or damaged resume checkpoint, a missing dataset) creates no run
// folder, config.ini or metrics.jsonl. At the next start in a run folder, what killed checkpoint
// writes left there is cleared whatever its pid, the newest complete checkpoint adopted; two runs
// cannot write into one folder at once.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>

#include "tests/launch/qforge_cli.h"
#include "tests/optional_deps.h"

namespace {

namespace fs = std::filesystem;
using qf::test::CliResult;

constexpr const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

class RunOutputsCli : public qf::test::QforgeCliTest {
 protected:
  // A LeNet run of a few steps into `out` (its checkpoint: out/checkpoint).
  void train_tiny(const std::string& out) {
    const CliResult r =
        run("train --model lenet --threads 1 --data.workers 0 "
            "--train.steps_per_epoch 3 --train.eval_each_epoch false --out " +
            out);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  std::string tmp(const std::string& name) const { return (tmp_ / name).string(); }
  void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
};

TEST_F(RunOutputsCli, SystemFoldersPseudoFileSystemsAndFilesAreRefusedUpFront) {
  const std::string file = tmp("a_file");
  write(file, "not a folder");
  const bool root_config = fs::exists("/config.ini"), root_metrics = fs::exists("/metrics.jsonl");
  const struct {
    std::string args, needle;
  } cases[] = {
      {"--out /", "system folder"},
      {"--out /usr", "system folder"},
      {"--out " + file + "/run", "is a file, not a folder"},
      {"--out " + file, "exists and is not a folder"},
      {"--out /proc/qforge_run", "kernel interface"},
      {"--out /sys/qforge_run", "kernel interface"},
      {"--out " + tmp("run") + " --metrics-out /proc/self/qf.json", "kernel interface"},
      {"--out " + tmp("run") + " --metrics-out " + tmp(""), "is a folder"},
      {"--out " + tmp("run") + " --metrics-out /m.json", "system folder"},
      {"--out " + tmp("run") + " --metrics-out " + file + "/m.json", "is a file, not a folder"},
  };
  for (const auto& c : cases) {
    // A dataset that does not exist: the output check must come first, before any input is read.
    const CliResult r = run("train --model lenet --data.root " + tmp("no_data") + " " + c.args);
    expect_input_error(r, c.needle);
    EXPECT_FALSE(fs::exists(tmp("run"))) << c.args;
  }
  EXPECT_EQ(fs::exists("/config.ini"), root_config);
  EXPECT_EQ(fs::exists("/metrics.jsonl"), root_metrics);
  expect_input_error(run("export --init " + tmp("ck") + " --out " + file + "/m.onnx"),
                     "is a file, not a folder");
  expect_input_error(run("eval --init " + tmp("ck") + " --metrics-out /proc/qf.json"),
                     "into /proc, a system folder");
  expect_input_error(run("bench --model lenet --metrics-out " + file + "/b.json"),
                     "is a file, not a folder");
  expect_input_error(run("ptq --model m.onnx --out /proc/sys/x.onnx"), "kernel interface");
  expect_input_error(run("infer --model m.onnx --input in.bin --output /"), "system folder");
}

// An unwritable --metrics-out used to be found after training, when the result had nowhere to go.
// Root may write anywhere, so as root the command runs as nobody (util-linux's setpriv).
TEST_F(RunOutputsCli, UnwritableFoldersAreRefusedBeforeTraining) {
  std::string as_user;
  if (::geteuid() == 0) {
    QF_SKIP_UNLESS(std::system("command -v setpriv >/dev/null") == 0,
                   "setpriv (util-linux) is missing: as root every folder is writable");
    as_user = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    fs::permissions(tmp_, fs::perms::others_read | fs::perms::others_exec, fs::perm_options::add);
  }
  const std::string locked = tmp("locked");
  fs::create_directories(locked);
  fs::permissions(locked, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
  const std::string out = tmp("open_run");
  fs::create_directories(out);
  fs::permissions(out, fs::perms::all);
  const std::string cmd = as_user + QF_BINARY_DIR + "/qforge train --model lenet --out ";
  for (const std::string args : {locked + "/run", out + " --metrics-out " + locked + "/m.json"}) {
    const std::string err = tmp("err.txt");
    const int status = std::system((cmd + args + " 2>" + err).c_str());
    ASSERT_TRUE(WIFEXITED(status));
    expect_input_error({WEXITSTATUS(status), qf::test::read_text_file(err)},
                       "folder '" + locked + "' is not writable (Permission denied)");
  }
  EXPECT_TRUE(fs::is_empty(locked));
  EXPECT_TRUE(fs::is_empty(out));
}

TEST_F(RunOutputsCli, PtqDynamicChecksTheTestModelFolderBeforeWritingTheModel) {
  QF_SKIP_UNLESS(fs::exists(kFashionMnist), "Fashion-MNIST (dataset-fashion-mnist) is missing");
  train_tiny(tmp("fp32"));
  const std::string out = tmp("dyn");
  fs::create_directories(out);
  write(out + "/test_model", "a file where the test model's folder goes");
  expect_input_error(run("ptq-dynamic --init " + tmp("fp32") +
                         "/checkpoint --generate-test-model "
                         "--out " +
                         out),
                     "test_model' exists and is not a folder");
  EXPECT_FALSE(fs::exists(out + "/quantized_model")) << "written before the failure";
}

TEST_F(RunOutputsCli, BadInputsLeaveNoRunFolder) {
  QF_SKIP_UNLESS(fs::exists(kFashionMnist), "Fashion-MNIST (dataset-fashion-mnist) is missing");
  const std::string run_dir = tmp("run");
  expect_input_error(run("train --model lenet --out " + run_dir + " --resume " + tmp("nothing")),
                     "does not exist");
  EXPECT_FALSE(fs::exists(run_dir));
  expect_input_error(run("train --model lenet --out " + run_dir + " --data.root " + tmp("nothing")),
                     "does not exist");
  EXPECT_FALSE(fs::exists(run_dir));
  expect_input_error(run("qat --model lenet --out " + run_dir + " --init " + tmp("nothing")),
                     "does not exist");
  EXPECT_FALSE(fs::exists(run_dir));
  // A resume that fails its checks against the run (the finished run cannot go on) writes nothing
  // either: not into a new folder, not into the checkpoint's own.
  train_tiny(tmp("done"));
  const auto before = fs::last_write_time(tmp("done") + "/metrics.jsonl");
  expect_input_error(run("train --threads 1 --data.workers 0 --train.steps_per_epoch 3 --out " +
                         run_dir + " --resume " + tmp("done") + "/checkpoint"),
                     "nothing is left to train");
  EXPECT_FALSE(fs::exists(run_dir));
  expect_input_error(run("train --threads 1 --data.workers 0 --train.steps_per_epoch 3 --out " +
                         tmp("done") + " --resume " + tmp("done") + "/checkpoint"),
                     "nothing is left to train");
  EXPECT_EQ(fs::last_write_time(tmp("done") + "/metrics.jsonl"), before);
}

TEST_F(RunOutputsCli, StaleCheckpointTemporariesAreClearedAtTheNextStart) {
  QF_SKIP_UNLESS(fs::exists(kFashionMnist), "Fashion-MNIST (dataset-fashion-mnist) is missing");
  const std::string run_dir = tmp("run");
  train_tiny(run_dir);
  // A kill between "tmp -> next" and "next -> checkpoint" (a complete, newer checkpoint), and an
  // unfinished write of another process.
  fs::copy(run_dir + "/checkpoint", run_dir + "/checkpoint.next", fs::copy_options::recursive);
  fs::create_directories(run_dir + "/checkpoint.tmp-999999");
  fs::copy(run_dir + "/checkpoint/model.safetensors", run_dir + "/checkpoint.tmp-999999/");
  const CliResult r = run("train --threads 1 --data.workers 0 --train.steps_per_epoch 3 "
                          "--train.epochs 2 --train.eval_each_epoch false --out " + run_dir +
                          " --resume " + run_dir + "/checkpoint");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("resume: " + run_dir + "/checkpoint.next at epoch 2"), std::string::npos)
      << "the newest complete version is read: " << r.err;
  EXPECT_NE(r.err.find("checkpoint: removed 1 unfinished temporary folder(s)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("checkpoint: adopted " + run_dir + "/checkpoint.next"), std::string::npos)
      << r.err;
  for (const auto& e : fs::directory_iterator(run_dir)) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "checkpoint" || name == "config.ini" || name == "metrics.jsonl" ||
                name == "report.html")
        << name;
  }
}

TEST_F(RunOutputsCli, TwoRunsCannotShareARunFolder) {
  const std::string run_dir = tmp("run");
  fs::create_directories(run_dir);
  const int fd = ::open(run_dir.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);  // as a running qforge holds it
  QF_SKIP_UNLESS(fs::exists(kFashionMnist), "Fashion-MNIST (dataset-fashion-mnist) is missing");
  expect_input_error(run("train --model lenet --threads 1 --train.steps_per_epoch 1 --out " +
                         run_dir),
                     "is in use by another qforge run");
  EXPECT_TRUE(fs::is_empty(run_dir));
  ::close(fd);
}

}  // namespace
