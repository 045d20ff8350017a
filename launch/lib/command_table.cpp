#include "launch/lib/command_table.h"

#include "launch/lib/help.h"
#include "nn/error.h"

namespace qf {
namespace {

using Keys = std::vector<std::string>;

Keys operator+(Keys a, const Keys& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Groups of keys, named by what reads them (launch/lib/setup.cpp, model_source.cpp, the trainer).
const Keys kModel = {"model.name",        "model.form",        "model.scale",
                     "model.num_classes", "model.in_channels", "model.image_size"};
// open_dataset: the dataset itself, either split.
const Keys kDataset = {
    "data.root",       "data.format",       "data.max_idx_mb",    "data.max_image_pixels",
    "data.crop_size",  "data.resize_short", "data.interpolation", "data.skip_bad",
    "data.check_files"};
const Keys kEvalLoader = {"data.val_list", "data.eval_batch_size", "data.workers", "data.prefetch"};
// open_device: every command that runs a model.
const Keys kDevice = {"run.device", "run.threads", "cuda.tf32"};
const Keys kCollectives = {"dist.backend", "dist.timeout_s"};
// The training loop and its run folder (train, qat).
const Keys kTraining = {"optimizer.*", "schedule.*", "train.*",  "data.*",     "dist.*",
                        "cuda.graphs", "run.out",    "run.init", "run.resume", "run.metrics_out", "run.print_config",
                        "log.*"};

std::vector<CommandSpec> make_specs() {
  return {
      {"train", cmd_train, "train a model (FP32) and evaluate it each epoch",
       "qforge train --config FILE.ini [--KEY VALUE ...]\n"
       "qforge train --model NAME [--epochs N] [--lr LR] [--out RUN_DIR] [--KEY VALUE ...]\n"
       "\n"
       "Builds the model, trains it, evaluates it on the test split after every epoch and keeps\n"
       "its run folder up to date (RUN_DIR, default runs/<model>): config.ini, metrics.jsonl,\n"
       "checkpoint/. --init starts from weights, --resume continues a run. docs/runs.md\n"
       "describes the run folder.",
       kModel + Keys{"model.zero_init_residual"} + kDataset + kTraining + kDevice},
      {"eval", cmd_eval, "evaluate a checkpoint or an ONNX model (int8 engine) on the test set",
       "qforge eval --init CHECKPOINT [--KEY VALUE ...]\n"
       "qforge eval --model FILE.onnx [--int8 false] [--KEY VALUE ...]\n"
       "\n"
       "--model FILE.onnx: an ONNX file (FP32, or QDQ int8 run on qforge's int8 kernels).\n"
       "--init: a checkpoint directory (the model is rebuilt from its saved configuration; a\n"
       "`qforge qat` checkpoint with its quantizers), a .safetensors file or an FP32 .onnx file's\n"
       "weights for the model named by --model NAME. Prints top-1/top-5 and loss; --metrics-out\n"
       "FILE.json writes them.",
       kModel + kDataset + kEvalLoader + kDevice + kCollectives +
           Keys{"run.init", "run.metrics_out", "run.int8", "run.fuse", "run.fuse_blocks", "run.winograd", "train.label_smoothing", "quant.*"},
       true},
      {"summary", cmd_summary, "per-layer shapes, parameters and multiply-adds of a model",
       "qforge summary --model NAME [--model.form small|imagenet] [--model.scale S]\n"
       "qforge summary --model NAME --memory [--batch N]\n"
       "\n"
       "One line per layer: output shape, parameters, multiply-adds for one image; the ImageNet\n"
       "form (3x224x224, 1000 classes) unless --model.form small. --memory: what one training\n"
       "step holds at batch N (default 64), FP32 and QAT, by purpose, from the executor's plan.",
       kModel + Keys{"summary.*"}},
      {"qat", cmd_qat, "quant-aware training from FP32 weights, then int8 ONNX export",
       "qforge qat --config FILE.ini --init FP32_CHECKPOINT [--KEY VALUE ...]\n"
       "qforge qat --resume QAT_CHECKPOINT [--KEY VALUE ...]\n"
       "\n"
       "Rewrites the model with fake-quant nodes ([quant] keys: PaddleSlim's quant_aware config),\n"
       "fine-tunes it, then writes RUN_DIR/model_int8.onnx (QDQ) and model_float_grid.onnx beside\n"
       "the run folder's config.ini, metrics.jsonl and checkpoint/.",
       kModel + kDataset + kTraining + kDevice + Keys{"quant.*"}},
      {"export", cmd_export, "write a checkpoint (FP32 or QAT) as an ONNX model",
       "qforge export --init CHECKPOINT --out FILE.onnx [--form int8|float_grid]\n"
       "\n"
       "An FP32 checkpoint becomes its float inference graph; a `qforge qat` checkpoint the int8\n"
       "QDQ model (or, with --form float_grid, the float model with weights on the int8 grid).",
       kModel + Keys{"run.init", "run.out", "run.threads", "quant.*", "export.*"}},
      {"ptq", cmd_ptq, "static post-training quantization to a QDQ int8 ONNX model",
       "qforge ptq --model FILE.onnx --out INT8.onnx [--algo NAME] [--batch-nums N] [--batch-size "
       "N]\n"
       "qforge ptq --init CHECKPOINT --out INT8.onnx [--KEY VALUE ...]\n"
       "\n"
       "--model FILE.onnx: an FP32 ONNX model (e.g. from torch.onnx.export, opset 13); or --init:\n"
       "a qforge checkpoint, the model rebuilt from the model keys. Calibrates the activations on\n"
       "the first batch-nums x batch-size samples of the data (Fashion-MNIST unless --data.root),\n"
       "then writes the int8 model. --metrics-out FILE.json writes the thresholds.",
       kModel + kDataset + kDevice + kCollectives +
           Keys{"data.train_list", "data.val_list", "run.init", "run.metrics_out", "ptq.*"},
       true},
      {"ptq-dynamic", cmd_ptq_dynamic, "weight-only int8 / int16 quantization to ONNX",
       "qforge ptq-dynamic --model FILE.onnx --weight-bits 8|16 --out DIR\n"
       "qforge ptq-dynamic --init CHECKPOINT --weight-bits 8|16 --out DIR\n"
       "\n"
       "Writes DIR/quantized_model/model.onnx (int8 or int16 weights, float activations) and,\n"
       "with --generate-test-model, DIR/test_model/model.onnx (the weights dequantized).",
       kModel + Keys{"run.init", "ptq_dynamic.*"}, true},
      {"bench", cmd_bench, "inference img/s and peak memory of a model (ONNX or checkpoint)",
       "qforge bench --model FILE.onnx [--batch-size N] [--iters N] [--warmup N]\n"
       "qforge bench --init CHECKPOINT [--KEY VALUE ...]\n"
       "\n"
       "Times forward passes on one random batch: images per second (median and best) and peak\n"
       "resident memory; --metrics-out FILE.json writes them.",
       kModel + kDevice + Keys{"run.init", "run.metrics_out", "run.int8", "run.fuse", "run.fuse_blocks", "run.winograd", "bench.*"}, true},
      {"infer", cmd_infer, "run a model (ONNX or checkpoint) on raw float32 tensors",
       "qforge infer --model FILE.onnx --input X.f32 --output Y.f32\n"
       "qforge infer --init CHECKPOINT --input X.f32 --output Y.f32\n"
       "\n"
       "X.f32: float32 samples in (N, C, H, W) order; Y.f32: output 0 (the logits), float32,\n"
       "(N, classes), computed data.eval_batch_size samples at a time.",
       kModel + kDevice + Keys{"run.init", "run.int8", "run.fuse", "run.fuse_blocks", "run.winograd", "infer.*", "data.eval_batch_size"}, true},
  };
}

}  // namespace

const std::vector<CommandSpec>& command_specs() {
  static const std::vector<CommandSpec> specs = make_specs();
  return specs;
}

const CommandSpec* find_command(const std::string& name) {
  for (const CommandSpec& c : command_specs())
    if (c.name == name) return &c;
  return nullptr;
}

std::vector<std::string> command_names() {
  std::vector<std::string> r;
  for (const CommandSpec& c : command_specs()) r.push_back(c.name);
  return r;
}

void describe_command(ConfigSchema& schema, const std::string& command) {
  const CommandSpec* spec = find_command(command);
  QF_CHECK(spec, "no command named ", command);
  schema.set_command(command, spec->reads,
                     [spec](const ConfigSchema& s) { return command_help(*spec, s); });
}

}  // namespace qf
