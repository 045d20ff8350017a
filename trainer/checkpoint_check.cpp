// Checkpoint checks (contract in trainer/checkpoint_check.h).
#include "trainer/checkpoint_check.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "trainer/checkpoint.h"

namespace qf {
namespace {

// The JSON value of `field` as an integer in [lo, hi]; anything else names the file and field.
int64_t int_field(const nlohmann::json& j, const char* field, int64_t lo, int64_t hi,
                  const std::string& file) {
  const auto it = j.find(field);
  if (it == j.end()) throw_input_error("checkpoint ", file, ": field '", field, "' is missing");
  const nlohmann::json& v = *it;
  const std::string allowed = str_cat(" (allowed: an integer from ", lo, " to ", hi, ")");
  if (!v.is_number_integer())
    throw_input_error("checkpoint ", file, ": field '", field, "' is ", v.dump(), allowed);
  if (v.is_number_unsigned() ? v.get<uint64_t>() > static_cast<uint64_t>(hi)
                             : v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    throw_input_error("checkpoint ", file, ": field '", field, "' is ", v.dump(), allowed);
  return v.get<int64_t>();
}

// The index of the first element of `t` that is NaN or infinite, or -1.
template <typename T>
int64_t first_nonfinite(const Tensor& t) {
  const T* p = t.data<T>();
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return i;
  return -1;
}

std::string describe(const Shape& shape, DType dtype) {
  return str_cat(dtype_name(dtype), " ", shape_str(shape));
}

// Every name of `want` present in `have` with the wanted shape and dtype, and nothing else.
struct Expected {
  std::string name;
  Shape shape;
  DType dtype;
};

void check_exactly(const std::vector<Expected>& want, const TensorMap& have,
                   const std::string& file, const char* remedy) {
  std::set<std::string> known;
  for (const Expected& e : want) {
    known.insert(e.name);
    const auto it = have.find(e.name);
    if (it == have.end())
      throw_input_error("checkpoint ", file, ": tensor '", e.name, "' (",
                        describe(e.shape, e.dtype), ") is missing", remedy);
    const Tensor& t = it->second;
    if (t.shape() != e.shape || t.dtype() != e.dtype)
      throw_input_error("checkpoint ", file, ": tensor '", e.name, "' is ",
                        describe(t.shape(), t.dtype()), ", the model's is ",
                        describe(e.shape, e.dtype), remedy);
  }
  for (const auto& [name, t] : have)
    if (!known.count(name))
      throw_input_error("checkpoint ", file, ": tensor '", name, "' (",
                        describe(t.shape(), t.dtype()), ") is not part of this model", remedy);
}

constexpr const char* kOtherRun = " (is it a checkpoint of another model or configuration?)";

}  // namespace

TrainState parse_train_state(const nlohmann::json& j, const std::string& file) {
  if (!j.is_object()) throw_input_error("checkpoint ", file, ": not a JSON object");
  TrainState s;
  s.epoch = int_field(j, "epoch", 0, kMaxCheckpointEpoch, file);
  s.batch_in_epoch = int_field(j, "batch_in_epoch", 0, kMaxCheckpointStep, file);
  s.global_step = int_field(j, "global_step", 0, kMaxCheckpointStep, file);
  const auto seed = j.find("seed");
  if (seed == j.end()) throw_input_error("checkpoint ", file, ": field 'seed' is missing");
  if (!seed->is_number_unsigned() && !(seed->is_number_integer() && seed->get<int64_t>() >= 0))
    throw_input_error("checkpoint ", file, ": field 'seed' is ", seed->dump(),
                      " (allowed: an integer from 0 to 18446744073709551615)");
  s.seed = seed->get<uint64_t>();
  if (s.global_step < s.batch_in_epoch || s.global_step < s.epoch)
    throw_input_error("checkpoint ", file, ": field 'global_step' is ", s.global_step,
                      ", fewer than the steps its epoch ", s.epoch, " and batch_in_epoch ",
                      s.batch_in_epoch, " took (at least one per finished epoch plus the batches)");
  return s;
}

void check_finite(const TensorMap& tensors, const std::string& file) {
  for (const auto& [name, t] : tensors) {
    int64_t bad = -1;
    if (t.dtype() == DType::f32) bad = first_nonfinite<float>(t);
    if (t.dtype() == DType::f64) bad = first_nonfinite<double>(t);
    if (bad < 0) continue;
    const double v = t.dtype() == DType::f32 ? t.data<float>()[bad] : t.data<double>()[bad];
    throw_input_error("checkpoint ", file, ": tensor '", name, "' holds ",
                      std::isnan(v) ? "NaN"
                      : v > 0       ? "inf"
                                    : "-inf",
                      " (element ", bad, " of ", t.numel(),
                      "); the run that wrote it diverged or the file is damaged");
  }
}

void check_model_matches(const ParamStore& store, const TensorMap& model, const std::string& file) {
  std::vector<Expected> want;
  for (const ParamEntry* e : store.entries()) want.push_back({e->name, e->shape, e->dtype});
  check_exactly(want, model, file, kOtherRun);
}

void check_optimizer_matches(const ParamStore& store, const TensorMap& optimizer,
                             const std::string& file) {
  std::vector<Expected> want;
  for (const ParamEntry& e : store.params())
    want.push_back({e.name + ".momentum", e.shape, DType::f32});
  check_exactly(want, optimizer, file, kOtherRun);
}

void check_resume_state(const TrainState& state, int64_t epochs, int64_t steps_per_epoch,
                        const std::string& file) {
  if (state.epoch >= epochs)
    throw_input_error("checkpoint ", file, ": field 'epoch' is ", state.epoch,
                      " (epochs finished), and this run has train.epochs ", epochs,
                      ": nothing is left to train (raise --train.epochs to train further)");
  if (state.batch_in_epoch >= steps_per_epoch)
    throw_input_error("checkpoint ", file, ": field 'batch_in_epoch' is ", state.batch_in_epoch,
                      ", but an epoch of this run has ", steps_per_epoch,
                      " batches (data.batch_size, train.steps_per_epoch and the ranks must be "
                      "those of the run that wrote it)");
}

}  // namespace qf
