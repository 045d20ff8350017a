// The configuration of a qforge run: typed sections with defaults, bound to dotted keys
// (`[optimizer] lr = 0.01` in an INI file, `--optimizer.lr 0.01` on the command line).
#pragma once

#include <string>

#include "comm/make_communicator.h"
#include "data/loader.h"
#include "launch/lib/config_schema.h"
#include "models/registry.h"
#include "trainer/trainer.h"

namespace qf {

struct DataConfig {
  std::string root;         // empty: Debian's Fashion-MNIST (/usr/share/datasets/fashion-mnist)
  std::string format = "idx";  // idx (MNIST-style files) | imagelist (ImageNet layout, OpenCV)
  int batch_size = 64;
  int eval_batch_size = 250;
  int workers = 2;
  int prefetch = 4;
  // imagelist only (data/image_list.h)
  std::string train_list = "train_list.txt";  // relative paths are inside root
  std::string val_list = "val_list.txt";
  int crop_size = 224;
  int resize_short = 256;
  std::string interpolation = "bilinear";  // bilinear | area
  bool skip_bad = false;
  bool check_files = false;
  // Bounds on what a small file may make us allocate (data/mnist.h, data/image_list.h).
  int64_t max_idx_mb = 2048;               // idx: per file, decompressed
  int64_t max_image_pixels = 100'000'000;  // imagelist: width x height, read before decoding
};

struct RunSection {
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int threads = 0;              // CPU threads; 0 = all cores
  std::string out;              // run directory (checkpoint/, metrics.jsonl, exports)
  std::string init;             // weights to start from (checkpoint dir or .safetensors)
  std::string resume;           // checkpoint to continue training from
  std::string metrics_out;      // final metrics as JSON
  bool cuda_tf32 = true;        // cuda.tf32: TF32 tensor cores in float32 conv / matmul
  bool cuda_graphs = true;      // cuda.graphs: record the training step once, replay it
  bool print_config = false;    // print the resolved configuration (INI) to stdout at start
};

struct LogSection {
  std::string tensorboard;  // folder for TensorBoard scalar event files ("" = none)
};

struct RunConfig {
  ModelConfig model;
  std::string model_form = "small";  // small (1x28x28, 10 classes) | imagenet (3x224x224, 1000)
  DataConfig data;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  TrainConfig train;
  RunSection run;
  LogSection log;
  DistConfig dist;
};

// Binds every key of `c` (with aliases such as --model, --device, --metrics-out) to `schema`.
void bind_run_config(ConfigSchema& schema, RunConfig& c);
// Applies model.form to the model keys the user did not set explicitly.
void apply_model_form(const ConfigSchema& schema, RunConfig& c);
// Takes the model keys from a checkpoint's saved configuration, unless set on this command line.
void adopt_checkpoint_model(ConfigSchema& schema, const nlohmann::json& saved);
// Sets `key` from a checkpoint's saved configuration (an object of strings) unless this command
// line set it or the checkpoint lacks it; InputError when the saved value is not a string.
void adopt_saved_key(ConfigSchema& schema, const nlohmann::json& saved, const std::string& key);

}  // namespace qf
