// Pieces every command shares: choosing the device, opening datasets, the run directory, loading
// initial weights, and writing result files.
#pragma once

#include <memory>
#include <string>

#include "comm/make_communicator.h"
#include "data/dataset.h"
#include "launch/lib/output_paths.h"
#include "launch/lib/run_config.h"
#include "launch/lib/run_folder.h"
#include "nn/context.h"
#include "nn/param_store.h"
#include "trainer/trainer.h"

namespace qf {

// "auto" means a GPU when one is usable, else the CPU; the choice is said once. Under mpirun each
// rank takes the GPU of its local rank ("auto" and "cuda"; "cuda:N" is taken as given), and on
// the CPU run.threads 0 shares the cores among the node's ranks.
std::unique_ptr<DeviceContext> open_device(const RunSection& run, Console& console);

// The communicator of this run (comm/make_communicator.h).
std::unique_ptr<Communicator> open_communicator(const DistConfig& dist, DeviceContext& ctx);
// One log line: ranks, backend, bucket size, SyncBatchNorm (on `synced_bn` nodes), timeout.
std::string dist_summary(const Communicator& comm, const DistConfig& dist, int synced_bn);

// The training or test split ("train" / "test") of the configured dataset: MNIST idx files, or an
// image list (data.format = imagelist: train_list / val_list, the training split with random
// crops and flips, the test split with resize + center crop). `num_classes` is the model's: image
// list labels must lie below it.
std::unique_ptr<Dataset> open_dataset(const DataConfig& data, const std::string& split,
                                      int num_classes);

// InputError unless the dataset's samples are what the model takes: (in_channels, image_size,
// image_size) and labels below num_classes.
void check_dataset_fits_model(const Dataset& data, const ModelConfig& model);

// With run.print_config (--print-config), the resolved configuration as an INI file on stdout,
// on the root rank (`console` enabled). stderr is kept for progress, warnings and errors.
void print_resolved_config(const RunConfig& c, const ConfigSchema& schema, const Console& console);

// The Trainer's settings from the run configuration (train, optimizer, schedule, data loader,
// distributed sections), checkpoints in <dir>/checkpoint, metrics to `metrics`, the resolved
// configuration saved with each checkpoint. `base` names the graph, store, device, communicator,
// console and datasets.
TrainerSetup trainer_setup(TrainerSetup base, const RunConfig& c, const ConfigSchema& schema,
                           const std::string& dir, MetricsLog& metrics);

// Loads weights into `store` from a checkpoint directory, a .safetensors file (ours, or a PyTorch /
// torchvision state dict converted with tools/torch_safetensors.py: the names are the same), or
// an FP32 .onnx model's initializers (by name, then by order and shape: launch/lib/onnx_weights.h).
// Every parameter and buffer of the store must be present, unless `allow_missing_buffers` (then
// missing buffers keep their initial values, e.g. quantizer state when starting QAT from FP32
// weights). A missing or mismatched tensor is an InputError naming the file, the tensor, its
// expected and its found shape. Unused tensors are reported (PyTorch's num_batches_tracked are
// ignored silently).
void load_initial_weights(ParamStore& store, const std::string& path, Console& console,
                          bool allow_missing_buffers);

// Writes a JSON object atomically (temp file + rename).
void write_json_file(const std::string& path, const nlohmann::json& j);
// A test figure for a metrics file: the value, or null when nothing was evaluated
// (train.eval_each_epoch false), so that a 0 never reads as a measured top-1.
nlohmann::json evaluated_figure(const EvalResult& r, double value);

}  // namespace qf
