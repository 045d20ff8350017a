// What a checkpoint must hold before a run trusts it. A checkpoint that is damaged or belongs to
// another run must end the command with one line naming the file and the field or tensor, never
// be used in part: a tensor that is silently re-initialised, or an epoch of 10^15, costs the user
// a run that looks fine.
//
// Two levels:
//   load_checkpoint (trainer/checkpoint.h) applies the format checks to every checkpoint, for
//   --init and --resume alike: parse_train_state (each state.json field an integer of the right
//   kind within the format's range, and consistent with the others) and check_finite (no NaN or
//   infinity in any floating-point tensor of model.safetensors or optimizer.safetensors).
//   A resume then checks the checkpoint against the run it continues: check_model_matches (every
//   parameter and buffer of the model present with its shape and dtype, nothing else there) and
//   check_optimizer_matches (one momentum per parameter, likewise), and check_resume_state (the
//   epoch and batch lie inside this run's schedule; Trainer::resume calls it).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "io/safetensors.h"
#include "nn/param_store.h"

namespace qf {

struct TrainState;

// The largest epoch a checkpoint may name (train.epochs' own limit) and the largest step or batch
// count (2^53: exact in the double a JSON reader may go through).
constexpr int64_t kMaxCheckpointEpoch = 100000;
constexpr int64_t kMaxCheckpointStep = int64_t{1} << 53;

// Reads state.json's fields: epoch in [0, kMaxCheckpointEpoch], batch_in_epoch and global_step in
// [0, kMaxCheckpointStep] with global_step >= batch_in_epoch and >= epoch (every finished epoch
// took a step), seed an unsigned 64-bit integer. A missing field, a fraction, a negative or
// out-of-range value is an InputError naming `file` and the field.
TrainState parse_train_state(const nlohmann::json& j, const std::string& file);

// InputError naming `file`, the tensor and the first bad element when a floating-point tensor
// holds NaN or an infinity.
void check_finite(const TensorMap& tensors, const std::string& file);

// InputError naming `file` and the tensor unless `model` holds exactly the store's parameters and
// buffers, each with the store's shape and dtype.
void check_model_matches(const ParamStore& store, const TensorMap& model, const std::string& file);

// InputError naming `file` and the tensor unless `optimizer` holds exactly one f32
// "<param>.momentum" per parameter of the store, with the parameter's shape.
void check_optimizer_matches(const ParamStore& store, const TensorMap& optimizer,
                             const std::string& file);

// InputError naming `file` and the field unless the state can continue a run of `epochs` epochs
// of `steps_per_epoch` batches: epoch < epochs (a checkpoint at the end of the last epoch is a
// finished run) and batch_in_epoch < steps_per_epoch.
void check_resume_state(const TrainState& state, int64_t epochs, int64_t steps_per_epoch,
                        const std::string& file);

}  // namespace qf
