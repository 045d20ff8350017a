#include "trainer/checkpoint.h"

#include <filesystem>

#include "io/atomic_file.h"
#include "io/json_text.h"
#include "nn/error.h"
#include "nn/input_file.h"
#include "trainer/checkpoint_check.h"

namespace qf {
namespace fs = std::filesystem;

// state.json holds a few numbers and the resolved configuration: a few kB.
constexpr uint64_t kMaxStateBytes = 16 << 20;

void save_checkpoint(const std::string& dir, const Checkpoint& c) {
  const fs::path parent = fs::path(dir).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  write_dir_atomically(dir, [&](const std::string& tmp) {
    save_safetensors(tmp + "/model.safetensors", c.model, {{"format", "qforge"}});
    if (!c.optimizer.empty())
      save_safetensors(tmp + "/optimizer.safetensors", c.optimizer, {{"format", "qforge"}});
    nlohmann::json j;
    j["epoch"] = c.state.epoch;
    j["batch_in_epoch"] = c.state.batch_in_epoch;
    j["global_step"] = c.state.global_step;
    j["seed"] = c.state.seed;
    j["config"] = c.config;
    write_text_file_atomically(tmp + "/state.json", j.dump(2) + "\n");
  });
}

void parse_checkpoint_state(const std::string& text, const std::string& path, Checkpoint& c) {
  const nlohmann::json j = parse_json_text(text, "checkpoint state '" + path + "'");
  c.state = parse_train_state(j, path);
  c.has_state = true;
  c.config = j.value("config", nlohmann::json::object());
  if (c.config.is_null()) c.config = nlohmann::json::object();  // saved without a configuration
  if (!c.config.is_object())
    throw_input_error("checkpoint ", path, ": field 'config' is not a JSON object");
}

Checkpoint load_checkpoint(const std::string& path) {
  Checkpoint c;
  std::error_code ec;  // the error_code forms: a path the system refuses is just "not there"
  if (fs::is_regular_file(path, ec)) {
    c.dir = path;
    c.model = load_safetensors(path);
    check_finite(c.model, path);
    return c;
  }
  c.dir = read_dir_path(path);
  if (!fs::is_directory(c.dir, ec)) {
    if (fs::exists(path, ec))
      throw_input_error("checkpoint '", path, "' is neither a checkpoint directory nor a "
                        ".safetensors file");
    throw_input_error("checkpoint '", path,
                      "' does not exist (expected a checkpoint directory or a .safetensors file)");
  }
  if (!fs::exists(model_file(c), ec))
    throw_input_error("checkpoint '", path, "' has no model.safetensors");
  c.model = load_safetensors(model_file(c));
  check_finite(c.model, model_file(c));
  if (fs::exists(optimizer_file(c), ec)) {
    c.optimizer = load_safetensors(optimizer_file(c));
    check_finite(c.optimizer, optimizer_file(c));
  }
  const std::string state = state_file(c);
  if (fs::exists(state, ec))
    parse_checkpoint_state(read_input_file(state, "checkpoint state", kMaxStateBytes), state, c);
  return c;
}

std::string model_file(const Checkpoint& c) {
  std::error_code ec;
  return fs::is_regular_file(c.dir, ec) ? c.dir : c.dir + "/model.safetensors";
}

std::string optimizer_file(const Checkpoint& c) {
  return c.dir + "/optimizer.safetensors";
}

std::string state_file(const Checkpoint& c) {
  return c.dir + "/state.json";
}

}  // namespace qf
