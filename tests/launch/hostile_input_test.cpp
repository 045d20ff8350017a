// Hostile input through the qforge command, one test per class the robustness review found: each
// ends with exit code 2, exactly one line on stderr, and no file or folder written — never a crash,
// a hang, an "internal error" (exit 3) or a figure computed from garbage.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "tests/io/onnx_builder.h"
#include "tests/launch/qforge_cli.h"
#include "tests/optional_deps.h"

namespace qf::test {
namespace {

namespace fs = std::filesystem;

class Hostile : public QforgeCliTest {
 protected:
  // Everything in the test folder except the files the test made itself and run()'s out / err.
  std::vector<std::string> written_besides(const std::vector<std::string>& inputs) {
    std::vector<std::string> extra;
    for (const auto& e : fs::directory_iterator(tmp_)) {
      const std::string n = e.path().filename().string();
      if (n == "out" || n == "err" || std::find(inputs.begin(), inputs.end(), n) != inputs.end())
        continue;
      extra.push_back(n);
    }
    return extra;
  }
  // The one-line, exit-2 contract, and nothing written next to the inputs.
  void expect_clean_refusal(const CliResult& r, const std::string& needle,
                            const std::vector<std::string>& inputs) {
    expect_input_error(r, needle);
    EXPECT_EQ(written_besides(inputs), std::vector<std::string>{}) << r.err;
  }
  std::string path(const std::string& name) const { return (tmp_ / name).string(); }

  // A valid small CNN on (1, 8, 8) inputs with 2 classes; `conv` attributes and the weight's fill
  // value are what the tests spoil.
  void write_cnn(const std::string& name, std::vector<Attr> conv = {}, float weight = 0.25f) {
    Model m;
    m.init(float_tensor("w", {2, 1, 3, 3}, weight))
        .node("Conv", {"x", "w"}, "c", std::move(conv))
        .node("GlobalAveragePool", {"c"}, "g")
        .node("Flatten", {"g"}, "y")
        .output("y");
    m.save(path(name));
  }
};

// The crash class: a stride of 0 under auto_pad SAME_UPPER divided by zero in eval, infer, bench
// and ptq-dynamic.
TEST_F(Hostile, MalformedOnnxInEveryCommandThatReadsOne) {
  write_cnn("m.onnx", {ints("strides", {0, 0}), str("auto_pad", "SAME_UPPER")});
  const std::string m = path("m.onnx");
  const std::vector<std::string> in = {"m.onnx"};
  expect_clean_refusal(run("eval --model " + m), "strides value 0", in);
  expect_clean_refusal(run("bench --model " + m + " --iters 1"), "strides value 0", in);
  expect_clean_refusal(
      run("infer --model " + m + " --input " + path("x.bin") + " --output " + path("y.bin")),
      "strides value 0", in);
  expect_clean_refusal(run("ptq-dynamic --model " + m + " --out " + path("q")), "strides value 0",
                       in);
}

TEST_F(Hostile, OnnxInputDimsThatOverflowAreRefusedNotBenchmarked) {
  Model big(13, {int64_t{1} << 40, int64_t{1} << 40, 16});
  big.node("Flatten", {"x"}, "y").output("y");
  big.save(path("big.onnx"));
  expect_clean_refusal(run("bench --model " + path("big.onnx") + " --iters 1"), "has more than",
                       {"big.onnx"});
}

// Deeply nested JSON overflowed the stack in `eval --init` (a safetensors header) and
// `train --resume` (a checkpoint's state.json).
TEST_F(Hostile, DeeplyNestedJsonInSafetensorsAndState) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  {
    std::ofstream f(path("w.safetensors"), std::ios::binary);
    const uint64_t n = deep.size();
    f.write(reinterpret_cast<const char*>(&n), 8);
    f << deep;
  }
  expect_clean_refusal(run("eval --model lenet --init " + path("w.safetensors")),
                       "deeper than 64 levels", {"w.safetensors"});

  fs::create_directories(tmp_ / "ck");
  {
    std::ofstream f(path("ck/model.safetensors"), std::ios::binary);
    const std::string header = "{}      ";
    const uint64_t n = header.size();
    f.write(reinterpret_cast<const char*>(&n), 8);
    f << header;
    std::ofstream(path("ck/state.json")) << "{\"config\": " << deep << "}";
  }
  expect_clean_refusal(run("train --model lenet --resume " + path("ck") + " --out " + path("run")),
                       "deeper than 64 levels", {"w.safetensors", "ck"});
}

// Files that are not regular files: a FIFO blocked the reader forever, a directory was read as
// an empty file.
TEST_F(Hostile, FifoDirectoryAndDeviceAsInputFiles) {
  ASSERT_EQ(::mkfifo(path("p.onnx").c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo(path("p.ini").c_str(), 0600), 0);
  const std::vector<std::string> in = {"p.onnx", "p.ini"};
  expect_clean_refusal(run("eval --model " + path("p.onnx")), "is a FIFO (named pipe)", in);
  expect_clean_refusal(run("train --config " + path("p.ini") + " --out " + path("run")),
                       "is a FIFO (named pipe)", in);
  expect_clean_refusal(run("train --config " + tmp_.string() + " --out " + path("run")),
                       "is a directory, not a regular file", in);
  expect_clean_refusal(run("eval --model lenet --init /dev/null"), "checkpoint '/dev/null'", in);
}

// Garbage that evaluated to a figure: NaN weights, a NaN QDQ scale, NaN input samples.
TEST_F(Hostile, NonFiniteWeightsScalesAndInputsNameTheTensor) {
  write_cnn("nan.onnx", {}, std::numeric_limits<float>::quiet_NaN());
  expect_clean_refusal(run("eval --model " + path("nan.onnx")), "weight 'w' holds nan",
                       {"nan.onnx"});

  Model qdq;
  TensorProto scale;
  scale.set_name("act_scale");
  scale.set_data_type(TensorProto::FLOAT);
  scale.add_float_data(std::numeric_limits<float>::quiet_NaN());
  TensorProto zp;
  zp.set_name("zp");
  zp.set_data_type(TensorProto::INT8);
  zp.add_int32_data(0);
  qdq.init(scale)
      .init(zp)
      .init(float_tensor("w", {2, 1, 3, 3}))
      .node("QuantizeLinear", {"x", "act_scale", "zp"}, "q")
      .node("DequantizeLinear", {"q", "act_scale", "zp"}, "d")
      .node("Conv", {"d", "w"}, "c")
      .node("GlobalAveragePool", {"c"}, "g")
      .node("Flatten", {"g"}, "y")
      .output("y");
  qdq.save(path("qdq.onnx"));
  expect_clean_refusal(run("bench --model " + path("qdq.onnx") + " --iters 1"),
                       "scale 'act_scale' holds nan", {"nan.onnx", "qdq.onnx"});

  write_cnn("ok.onnx");
  std::vector<float> x(2 * 64, 0.5f);
  x[64 + 5] = std::numeric_limits<float>::infinity();
  std::ofstream(path("x.bin"), std::ios::binary)
      .write(reinterpret_cast<const char*>(x.data()), static_cast<std::streamsize>(x.size() * 4));
  expect_clean_refusal(run("infer --model " + path("ok.onnx") + " --input " + path("x.bin") +
                           " --output " + path("y.bin")),
                       "sample 1 holds inf at element 5",
                       {"nan.onnx", "qdq.onnx", "ok.onnx", "x.bin"});
}

// A tensor name with a newline once split the error over two lines.
TEST_F(Hostile, ControlCharactersInNamesStayOnTheErrorLine) {
  Model m;
  TensorProto w =
      float_tensor("w\nsecond line", {2, 1, 3, 3}, std::numeric_limits<float>::quiet_NaN());
  m.init(w)
      .node("Conv", {"x", "w\nsecond line"}, "c")
      .node("GlobalAveragePool", {"c"}, "g")
      .node("Flatten", {"g"}, "y")
      .output("y");
  m.save(path("nl.onnx"));
  expect_clean_refusal(run("eval --model " + path("nl.onnx")), "'w\\nsecond line'", {"nl.onnx"});
}

// The resolved configuration went to stderr, so that every train / qat error was the last of ~60
// lines. It goes to the run folder, and to stdout with --print-config.
TEST_F(Hostile, ResolvedConfigurationIsNotOnStderr) {
  expect_clean_refusal(run("train --model lenet --print-config --data.root " + path("none") +
                           " --out " + path("run")),
                       "data root", {});
  QF_SKIP_UNLESS(fs::exists("/usr/share/datasets/fashion-mnist"),
                 "Fashion-MNIST (Debian's dataset-fashion-mnist) is not installed");
  const CliResult r =
      run("train --model lenet --print-config --train.epochs 1 "
          "--train.steps_per_epoch 2 --train.eval_each_epoch false --out " +
          path("run"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("[model]"), std::string::npos) << r.err;
  const std::string out = read_text_file(path("out"));
  EXPECT_NE(out.find("[model]\n"), std::string::npos) << out;
  EXPECT_NE(out.find("name = lenet"), std::string::npos) << out;
  EXPECT_EQ(read_text_file(path("run/config.ini")), out);
}

TEST_F(Hostile, NoCommandIsOneLine) {
  expect_clean_refusal(run(""), "no command given", {});
}

}  // namespace
}  // namespace qf::test
