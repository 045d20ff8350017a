// `qforge --version`, `qforge help [command]` and per-command --help as users meet them: each
// command's help lists only the keys it reads, with aliases beside their keys; mistakes get one
// line with the closest valid names and exit code 2.
#include <gtest/gtest.h>

#include "tests/launch/qforge_cli.h"

namespace qf::test {
namespace {

class HelpCli : public QforgeCliTest {
 protected:
  std::string out() { return read_text_file((tmp_ / "out").string()); }
  // stdout of a command that must succeed.
  std::string page(const std::string& args) {
    const CliResult r = run(args);
    EXPECT_EQ(r.code, 0) << args << "\n" << r.err;
    EXPECT_EQ(r.err, "") << args;
    return out();
  }
};

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST_F(HelpCli, VersionNamesTheBuildAndItsBackends) {
  const std::string v = page("--version");
  EXPECT_TRUE(has(v, "qforge 0.")) << v;
  for (const char* backend : {"oneDNN ", "CUDA", "MPI", "NCCL", "OpenCV", "ONNX "})
    EXPECT_TRUE(has(v, backend)) << backend << "\n" << v;
  if (std::filesystem::exists(std::string(QF_SOURCE_DIR) + "/.git"))
    EXPECT_TRUE(has(v, "(git ")) << v;
}

TEST_F(HelpCli, HelpListsTheCommands) {
  const std::string h = page("help");
  for (const char* c :
       {"train", "eval", "summary", "qat", "export", "ptq", "ptq-dynamic", "bench", "infer"})
    EXPECT_TRUE(has(h, "\n  " + std::string(c) + " ")) << c << "\n" << h;
  EXPECT_EQ(page("--help"), h);
}

TEST_F(HelpCli, EveryCommandHasAHelpPageEqualToItsDashDashHelp) {
  for (const char* c :
       {"train", "eval", "summary", "qat", "export", "ptq", "ptq-dynamic", "bench", "infer"}) {
    const std::string h = page(std::string("help ") + c);
    EXPECT_TRUE(has(h, std::string("qforge ") + c + ": ")) << h;
    EXPECT_EQ(page(std::string(c) + " --help"), h) << c;
  }
}

TEST_F(HelpCli, InferenceCommandsListNoTrainingKeys) {
  for (const char* c : {"bench", "ptq", "ptq-dynamic", "infer", "export", "summary"}) {
    const std::string h = page(std::string("help ") + c);
    for (const char* training :
         {"--optimizer.", "--schedule.", "--train.epochs", "--data.batch_size", "--run.resume",
          "--cuda.graphs", "--dist.bucket_mb"})
      EXPECT_FALSE(has(h, training)) << c << " lists " << training;
  }
  const std::string train = page("help train");
  for (const char* key : {"--optimizer.lr (alias --lr)", "--data.batch_size (alias --batch-size)",
                          "--run.out (alias --out)", "--schedule.type", "--run.resume"})
    EXPECT_TRUE(has(train, key)) << key;
  EXPECT_FALSE(has(train, "--ptq.")) << train;
}

TEST_F(HelpCli, PtqHelpSaysItTakesAnOnnxModelAndShowsItsAliases) {
  const std::string h = page("help ptq");
  EXPECT_TRUE(has(h, "qforge ptq --model FILE.onnx")) << h;
  EXPECT_TRUE(has(h, "  --model FILE.onnx\n")) << h;
  EXPECT_TRUE(has(h, "--ptq.out (alias --out)")) << h;
  EXPECT_TRUE(has(h, "--ptq.batch_size (alias --batch-size)")) << h;
  EXPECT_FALSE(has(h, "--run.out")) << h;  // --out is ptq.out here
  const std::string bench = page("help bench");
  EXPECT_TRUE(has(bench, "--bench.batch_size (alias --batch-size)")) << bench;
}

TEST_F(HelpCli, UnknownCommandSuggestsTheClosest) {
  CliResult r = run("trian");
  expect_input_error(r, "unknown command 'trian'; did you mean train?");
  r = run("help ptqq");
  expect_input_error(r, "did you mean ptq?");
  r = run("--verison");
  expect_input_error(r, "did you mean --version?");
}

TEST_F(HelpCli, UnknownOptionSuggestsAFewNotAll) {
  const CliResult r = run("bench --batchsize 4");
  expect_input_error(r, "unknown option '--batchsize'; did you mean --bench.batch_size?");
  EXPECT_FALSE(has(r.err, "--bench.iters")) << r.err;
  expect_input_error(run("ptq --hlep"), "did you mean --help?");
}

TEST_F(HelpCli, KeysACommandDoesNotReadAreRefusedWithTheClosestItDoes) {
  expect_input_error(run("bench --optimizer.lr 0.1"), "--optimizer.lr is not read by qforge bench");
  expect_input_error(run("eval --data.batch_size 4"),
                     "is not read by qforge eval; did you mean --data.eval_batch_size?");
  expect_input_error(run("ptq-dynamic --metrics-out m.json"),
                     "--metrics-out (--run.metrics_out) is not read by qforge ptq-dynamic");
  EXPECT_FALSE(std::filesystem::exists("m.json"));
}

}  // namespace
}  // namespace qf::test
