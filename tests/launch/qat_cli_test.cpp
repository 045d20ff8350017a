// `qforge qat` and `qforge export` as users meet them: bad [quant] values and missing arguments are
// one-line errors with exit code 2; a short FP32 run, then QAT from its checkpoint, writes the QAT
// checkpoint and both ONNX models; `qforge eval` of the QAT checkpoint reproduces the simulated
// int8 accuracy, and `qforge export` writes FP32 and QAT checkpoints (int8 ~4x smaller).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/launch/qforge_cli.h"

#include "tests/optional_deps.h"

namespace {

namespace fs = std::filesystem;
using qf::test::CliResult;
using qf::test::read_text_file;

class QatCli : public qf::test::QforgeCliTest {};

TEST_F(QatCli, BadQuantValuesNameKeyValueAndAllowed) {
  expect_input_error(run("qat --quant.activation_quantize_type channel_wise_abs_max"),
                     "quant.activation_quantize_type: 'channel_wise_abs_max' is not allowed "
                     "(allowed: abs_max, range_abs_max, moving_average_abs_max)");
  expect_input_error(run("qat --quant.weight_bits 17"), "quant.weight_bits: '17' is out of range");
  expect_input_error(run("qat --quant.quantize_op_types conv2d,lstm"), "lstm");
  expect_input_error(run("qat --quant.moving_rate 1.5"), "quant.moving_rate: '1.5'");
  expect_input_error(run("qat"), "--init");
  expect_input_error(run("export --out x.onnx"), "--init");
}

TEST_F(QatCli, TrainQatEvalAndExport) {
  QF_SKIP_UNLESS(fs::exists("/usr/share/datasets/fashion-mnist"),
                 "Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed");
  const std::string fp32 = (tmp_ / "fp32").string(), qat = (tmp_ / "qat").string();
  const std::string src = QF_SOURCE_DIR;
  CliResult r = run("train --config " + src + "/configs/fashion_mnist/lenet.ini --threads 1 " +
                    "--train.steps_per_epoch 30 --train.eval_each_epoch false --out " + fp32);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string m = (tmp_ / "qat.json").string();
  r = run("qat --init " + fp32 + "/checkpoint --threads 1 --train.steps_per_epoch 20 " +
          "--quant.quantize_op_types conv2d,mul --data.eval_batch_size 1000 --out " + qat +
          " --metrics-out " + m);
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* f : {"/checkpoint/model.safetensors", "/model_int8.onnx",
                        "/model_float_grid.onnx", "/metrics.jsonl"})
    EXPECT_TRUE(fs::exists(qat + f)) << f;
  const auto j = nlohmann::json::parse(read_text_file(m));
  EXPECT_GT(j["top1"].get<double>(), 30.0);
  EXPECT_NEAR(j["int8_graph_top1"].get<double>(), j["top1"].get<double>(), 0.5);

  const std::string e = (tmp_ / "eval.json").string();
  r = run("eval --init " + qat +
          "/checkpoint --threads 1 --data.eval_batch_size 1000 "
          "--metrics-out " +
          e);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(read_text_file(e))["top1"].get<double>(),
                   j["top1"].get<double>());

  const std::string a = (tmp_ / "fp32.onnx").string(), b = (tmp_ / "int8.onnx").string();
  ASSERT_EQ(run("export --init " + fp32 + "/checkpoint --out " + a).code, 0);
  ASSERT_EQ(run("export --init " + qat + "/checkpoint --out " + b).code, 0);
  EXPECT_LT(fs::file_size(b) * 3, fs::file_size(a));  // LeNet's small tensors: ~3.4x
  EXPECT_EQ(fs::file_size(b), fs::file_size(qat + "/model_int8.onnx"));

  // --init FILE.onnx in infer and export: the file's weights for the named model, read as ONNX.
  const std::string again = (tmp_ / "again.onnx").string(), x = (tmp_ / "x.bin").string();
  ASSERT_EQ(run("export --init " + a + " --model lenet --out " + again).code, 0);
  EXPECT_EQ(fs::file_size(again), fs::file_size(a));
  {
    std::ofstream f(x, std::ios::binary);
    for (int i = 0; i < 3 * 28 * 28; ++i) {
      const float v = static_cast<float>(i % 255) / 127.5f - 1.f;
      f.write(reinterpret_cast<const char*>(&v), 4);
    }
  }
  const std::string y1 = (tmp_ / "y1.bin").string(), y2 = (tmp_ / "y2.bin").string();
  ASSERT_EQ(run("infer --init " + a + " --model lenet --input " + x + " --output " + y1).code, 0);
  ASSERT_EQ(run("infer --model " + a + " --input " + x + " --output " + y2).code, 0);
  EXPECT_EQ(read_text_file(y1), read_text_file(y2));
}

// With BatchNorm (MobileNetV1): qat aligns the folded biases to the int8 export's grid, so the
// simulated model, its rewritten checkpoint and the int8 graph score the same.
TEST_F(QatCli, AlignedBatchNormBiasesMakeSimulationAndInt8Agree) {
  QF_SKIP_UNLESS(fs::exists("/usr/share/datasets/fashion-mnist"),
                 "Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed");
  const std::string fp32 = (tmp_ / "fp32").string(), qat = (tmp_ / "qat").string();
  const std::string src = QF_SOURCE_DIR;
  CliResult r = run("train --config " + src + "/configs/fashion_mnist/mobilenet_v1.ini " +
                    "--model.scale 0.25 --threads 2 --train.steps_per_epoch 60 " +
                    "--train.eval_each_epoch false --out " + fp32);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string m = (tmp_ / "qat.json").string();
  r = run("qat --config " + src + "/configs/fashion_mnist/mobilenet_v1_qat.ini --model.scale 0.25 " +
          "--init " + fp32 + "/checkpoint --threads 2 --train.steps_per_epoch 30 " +
          "--data.eval_batch_size 1000 --out " + qat + " --metrics-out " + m);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string log = read_text_file((tmp_ / "out").string()) + r.err;
  EXPECT_NE(log.find("folded BatchNorm biases aligned"), std::string::npos) << log;
  const auto j = nlohmann::json::parse(read_text_file(m));
  ASSERT_TRUE(j.contains("top1_before_bias_alignment"));
  EXPECT_GT(j["top1"].get<double>(), 30.0);
  EXPECT_NEAR(j["int8_graph_top1"].get<double>(), j["top1"].get<double>(), 0.1);

  const std::string e = (tmp_ / "eval.json").string();
  r = run("eval --init " + qat + "/checkpoint --threads 2 --data.eval_batch_size 1000 " +
          "--metrics-out " + e);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(read_text_file(e))["top1"].get<double>(),
                   j["top1"].get<double>());
}

}  // namespace
