#include "launch/lib/setup.h"

#include <filesystem>

#include "data/mnist.h"
#include "io/atomic_file.h"
#include "trainer/checkpoint.h"

namespace qf {

std::unique_ptr<DeviceContext> open_device(const RunSection& run, Console& console) {
  ContextOptions o;
  o.cpu_threads = run.threads;
  o.tf32 = run.cuda_tf32;
  o.cuda_graphs = run.cuda_graphs;
  auto gpu_line = [&](const Device& d) {
    return "device: " + d.str() + ", " + cuda_status() + (o.tf32 ? ", TF32 on" : ", TF32 off") +
           (o.cuda_graphs ? ", CUDA graphs on" : ", CUDA graphs off");
  };
  if (run.device == "auto") {
    if (cuda_available()) {
      console.info(gpu_line(Device::cuda(0)));
      return make_context(Device::cuda(0), o);
    }
    auto ctx = make_context(Device::cpu(), o);
    console.info("device: cpu, " +
                 std::to_string(dynamic_cast<CpuContext&>(*ctx).threads()) + " threads (" +
                 cuda_status() + ")");
    return ctx;
  }
  const Device d = parse_device(run.device);
  auto ctx = make_context(d, o);
  console.info(d.is_cuda() ? gpu_line(d) : "device: " + d.str());
  return ctx;
}

std::unique_ptr<Dataset> open_dataset(const DataConfig& data, const std::string& split) {
  const std::string root = data.root.empty() ? MnistDataset::default_root() : data.root;
  return std::make_unique<MnistDataset>(root, split, Normalize{});
}

std::string run_directory(const RunConfig& c) {
  return c.run.out.empty() ? "runs/" + c.model.name : c.run.out;
}

void load_initial_weights(ParamStore& store, const std::string& path, Console& console,
                          bool allow_missing_buffers) {
  const Checkpoint ck = load_checkpoint(path);
  const ParamStore::LoadReport r = store.load_state_dict(ck.model);
  std::vector<std::string> missing;
  for (const std::string& name : r.missing) {
    const ParamEntry* e = store.find(name);
    if (allow_missing_buffers && e && e->kind == ValueKind::buffer) continue;
    missing.push_back(name);
  }
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 6; ++i) list += (i ? ", " : "") + missing[i];
    if (missing.size() > 6) list += ", ... (" + std::to_string(missing.size()) + " in all)";
    throw_input_error("--init ", path, ": missing tensors ", list);
  }
  std::vector<std::string> unused;
  for (const std::string& n : r.unused)  // PyTorch's BN step counter has no meaning here
    if (n.size() < 20 || n.compare(n.size() - 20, 20, ".num_batches_tracked") != 0)
      unused.push_back(n);
  std::string msg = "init: loaded " + std::to_string(ck.model.size() - r.unused.size()) +
                    " tensors from " + path;
  if (!unused.empty()) msg += " (" + std::to_string(unused.size()) + " unused, e.g. " + unused[0] + ")";
  console.info(msg);
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  write_text_file_atomically(path, j.dump(2) + "\n");
}

}  // namespace qf
