#include "trainer/checkpoint.h"

#include <filesystem>

#include "io/atomic_file.h"
#include "nn/error.h"

namespace qf {
namespace fs = std::filesystem;

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

Checkpoint load_checkpoint(const std::string& path) {
  Checkpoint c;
  if (fs::is_regular_file(path)) {
    c.model = load_safetensors(path);
    return c;
  }
  const std::string dir = read_dir_path(path);
  if (!fs::is_directory(dir))
    throw_input_error("checkpoint '", path,
                      "' does not exist (expected a checkpoint directory or a .safetensors file)");
  const std::string model = dir + "/model.safetensors";
  if (!fs::exists(model))
    throw_input_error("checkpoint '", path, "' has no model.safetensors");
  c.model = load_safetensors(model);
  const std::string opt = dir + "/optimizer.safetensors";
  if (fs::exists(opt)) c.optimizer = load_safetensors(opt);
  const std::string state = dir + "/state.json";
  if (fs::exists(state)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_text_file(state));
      c.state.epoch = j.at("epoch").get<int64_t>();
      c.state.batch_in_epoch = j.at("batch_in_epoch").get<int64_t>();
      c.state.global_step = j.at("global_step").get<int64_t>();
      c.state.seed = j.at("seed").get<uint64_t>();
      c.config = j.value("config", nlohmann::json::object());
    } catch (const nlohmann::json::exception& e) {
      throw_input_error("checkpoint state '", state, "' is malformed: ", e.what());
    }
  }
  return c;
}

}  // namespace qf
