// Checkpoints: a directory holding
//   model.safetensors      every parameter and buffer (quantizer state included), by graph name
//   optimizer.safetensors  the optimizer's state ("<param>.momentum")
//   state.json             progress (epoch, batch within the epoch, global step), the run seed and
//                          the resolved configuration
// written atomically as a whole (io/atomic_file.h): a crash leaves the previous checkpoint.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "io/safetensors.h"

namespace qf {

struct TrainState {
  int64_t epoch = 0;           // the epoch in progress (0-based)
  int64_t batch_in_epoch = 0;  // batches of that epoch already trained
  int64_t global_step = 0;     // optimizer steps taken
  uint64_t seed = 0;
};

struct Checkpoint {
  TensorMap model;
  TensorMap optimizer;  // empty when the checkpoint has none (exported weights only)
  TrainState state;
  nlohmann::json config;  // the resolved configuration (ConfigSchema::to_json)
};

void save_checkpoint(const std::string& dir, const Checkpoint& ckpt);
// Reads a checkpoint directory, or a bare .safetensors file (model weights only). InputError names
// the directory and what is missing or malformed.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace qf
