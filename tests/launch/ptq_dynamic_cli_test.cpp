// `qforge ptq-dynamic` as users meet it: a short FP32 LeNet run, then weight-only int8 and int16
// quantization of its checkpoint (with the dequantized test model), each file the expected fraction
// of the FP32 export, each scoring what the FP32 model scores within what weight rounding allows
// (int16 all but exactly); bad values are one-line errors with exit code 2 and nothing written.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tests/launch/qforge_cli.h"

#include "tests/optional_deps.h"

namespace {

namespace fs = std::filesystem;
using qf::test::CliResult;
using qf::test::read_text_file;

class PtqDynamicCli : public qf::test::QforgeCliTest {
 protected:
  double top1(const std::string& model) {
    const std::string m = (tmp_ / "eval.json").string();
    const CliResult r = run("eval --model " + model + " --threads 1 --data.eval_batch_size 1000 " +
                            "--metrics-out " + m);
    EXPECT_EQ(r.code, 0) << r.err;
    return nlohmann::json::parse(read_text_file(m))["top1"].get<double>();
  }
};

TEST_F(PtqDynamicCli, BadValuesAreOneLineErrorsAndWriteNothing) {
  const std::string out = (tmp_ / "dyn").string();
  for (const std::string args :
       {"--weight-bits 12", "--weight-quantize-type moving_average_abs_max",
        "--quantizable-op-type conv2d,lstm", ""}) {
    const CliResult r = run("ptq-dynamic --model lenet --init missing.safetensors " + args +
                            (args.empty() ? "" : " --out " + out));
    EXPECT_EQ(r.code, 2) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(out)) << args;
  }
}

TEST_F(PtqDynamicCli, Int8AndInt16WeightsShrinkTheFileAndKeepTheAccuracy) {
  QF_SKIP_UNLESS(fs::exists("/usr/share/datasets/fashion-mnist"),
                 "Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed");
  const std::string fp32 = (tmp_ / "fp32").string(), src = QF_SOURCE_DIR;
  CliResult r = run("train --config " + src + "/configs/fashion_mnist/lenet.ini --threads 1 " +
                    "--train.steps_per_epoch 60 --train.eval_each_epoch false --out " + fp32);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string onnx = (tmp_ / "fp32.onnx").string();
  ASSERT_EQ(run("export --init " + fp32 + "/checkpoint --out " + onnx).code, 0);
  const double base = top1(onnx);
  EXPECT_GT(base, 50.0);
  const double fp32_bytes = static_cast<double>(fs::file_size(onnx));
  for (int bits : {8, 16}) {
    const std::string dir = (tmp_ / ("dyn" + std::to_string(bits))).string();
    r = run("ptq-dynamic --init " + fp32 + "/checkpoint --weight-bits " + std::to_string(bits) +
            " --generate-test-model --out " + dir);
    ASSERT_EQ(r.code, 0) << bits << ": " << r.err;
    const std::string q = dir + "/quantized_model/model.onnx", t = dir + "/test_model/model.onnx";
    ASSERT_TRUE(fs::exists(q) && fs::exists(t)) << bits;
    // LeNet's weights are nearly all of the file: int8 ~1/4, int16 ~1/2; the test model is float.
    const double ratio = static_cast<double>(fs::file_size(q)) / fp32_bytes;
    EXPECT_NEAR(ratio, bits == 8 ? 0.25 : 0.5, 0.03) << bits;
    EXPECT_NEAR(static_cast<double>(fs::file_size(t)) / fp32_bytes, 1.0, 0.03) << bits;
    const double acc = top1(q);
    EXPECT_NEAR(acc, base, bits == 8 ? 1.0 : 0.05) << bits;
    EXPECT_DOUBLE_EQ(top1(t), acc) << bits;  // the dequantized copy computes the same model
  }
}

}  // namespace
