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
  bool has_state = false;  // state.json was there (a bare .safetensors file has none)
  nlohmann::json config;   // the resolved configuration (ConfigSchema::to_json)
  std::string dir;         // the directory read (or the .safetensors file), for messages
};

void save_checkpoint(const std::string& dir, const Checkpoint& ckpt);
// Reads a checkpoint directory, or a bare .safetensors file (model weights only). The directory
// read is the newest complete one (io/atomic_file.h: read_dir_path). InputError names the file
// and what is missing or malformed; the format checks of trainer/checkpoint_check.h apply (state
// fields in range, every floating-point tensor finite).
Checkpoint load_checkpoint(const std::string& path);
// The files of a checkpoint read from `c.dir`, for messages.
std::string model_file(const Checkpoint& c);
std::string optimizer_file(const Checkpoint& c);
std::string state_file(const Checkpoint& c);
// Fills c.state and c.config from the text of a state.json (read from `path`, named in messages).
void parse_checkpoint_state(const std::string& text, const std::string& path, Checkpoint& c);

}  // namespace qf
