#include "launch/lib/setup.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "data/image_list.h"
#include "data/mnist.h"
#include "io/atomic_file.h"
#include "launch/lib/onnx_weights.h"
#include "trainer/checkpoint.h"

namespace qf {

namespace {

// CPU threads for run.threads 0: every core this process may use, shared with the other ranks on
// the node unless mpirun bound the process to its own cores already.
int default_threads(const LaunchEnv& env) {
  const int usable = omp_get_num_procs();  // the process's affinity mask
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  if (env.local_size <= 1 || usable < online) return usable;
  return std::max(1, usable / env.local_size);
}

}  // namespace

std::unique_ptr<DeviceContext> open_device(const RunSection& run, Console& console) {
  const LaunchEnv env = launch_env();
  ContextOptions o;
  o.cpu_threads = run.threads > 0 ? run.threads : default_threads(env);
  o.tf32 = run.cuda_tf32;
  o.cuda_graphs = run.cuda_graphs;
  auto gpu_line = [&](const Device& d) {
    return "device: " + d.str() + ", " + cuda_status() + (o.tf32 ? ", TF32 on" : ", TF32 off") +
           (o.cuda_graphs ? ", CUDA graphs on" : ", CUDA graphs off") +
           (env.under_mpirun ? " (each rank uses cuda:<its local rank>)" : "");
  };
  if (run.device == "auto" || (run.device == "cuda" && env.under_mpirun)) {
    if (run.device == "cuda" || cuda_available()) {
      const Device d = Device::cuda(env.local_rank);
      console.info(gpu_line(d));
      return make_context(d, o);
    }
    auto ctx = make_context(Device::cpu(), o);
    console.info("device: cpu, " + std::to_string(dynamic_cast<CpuContext&>(*ctx).threads()) +
                 " threads (" + cuda_status() + ")");
    return ctx;
  }
  const Device d = parse_device(run.device);
  auto ctx = make_context(d, o);
  console.info(d.is_cuda() ? gpu_line(d) : "device: " + d.str());
  return ctx;
}

std::unique_ptr<Communicator> open_communicator(const DistConfig& dist, DeviceContext& ctx) {
  return make_communicator(dist, ctx);
}

std::string dist_summary(const Communicator& comm, const DistConfig& dist, int synced_bn) {
  char line[240];
  std::snprintf(line, sizeof line,
                "dist: %d ranks over %s, gradient buckets of %g MiB, SyncBatchNorm %s, collective "
                "timeout %g s",
                comm.size(), comm.backend().c_str(), dist.bucket_mb,
                synced_bn ? ("on " + std::to_string(synced_bn) + " batch_norm nodes").c_str()
                          : "off",
                dist.timeout_s);
  return line;
}

std::unique_ptr<Dataset> open_dataset(const DataConfig& data, const std::string& split,
                                      int num_classes) {
  if (data.format == "imagelist") {
    if (data.root.empty())
      throw_input_error("data.root: data.format = imagelist needs the dataset folder, e.g. "
                        "--data.root /data/ILSVRC2012 (with train/, val/, train_list.txt, "
                        "val_list.txt)");
    ImageListOptions o;
    o.root = data.root;
    o.train = split == "train";
    o.list = o.train ? data.train_list : data.val_list;
    o.split_dir = o.train ? "train" : "val";
    o.num_classes = num_classes;
    o.crop_size = data.crop_size;
    o.resize_short = data.resize_short;
    o.interpolation = data.interpolation == "area" ? Interpolation::area : Interpolation::bilinear;
    o.skip_bad = data.skip_bad;
    o.check_files = data.check_files;
    o.max_image_pixels = data.max_image_pixels;
    return open_image_list(o);
  }
  const std::string root = data.root.empty() ? MnistDataset::default_root() : data.root;
  return std::make_unique<MnistDataset>(root, split, Normalize{},
                                        static_cast<uint64_t>(data.max_idx_mb) << 20);
}

void check_dataset_fits_model(const Dataset& data, const ModelConfig& model) {
  const Shape s = data.sample_shape();
  const Shape want = {model.in_channels, model.image_size, model.image_size};
  if (s != want)
    throw_input_error("data: ", data.describe(), " gives samples of ", s[0], "x", s[1], "x", s[2],
                      " (CxHxW) but the model takes ", want[0], "x", want[1], "x", want[2],
                      " (model.in_channels, model.image_size; for image lists data.crop_size = "
                      "model.image_size)");
  if (data.num_classes() > model.num_classes)
    throw_input_error("model.num_classes: ", model.num_classes, " is fewer than the ",
                      data.num_classes(), " classes of ", data.describe());
}

void print_resolved_config(const RunConfig& c, const ConfigSchema& schema, const Console& console) {
  if (!c.run.print_config || !console.enabled()) return;
  std::fputs(schema.to_ini().c_str(), stdout);
  std::fflush(stdout);
}

TrainerSetup trainer_setup(TrainerSetup base, const RunConfig& c, const ConfigSchema& schema,
                           const std::string& dir, MetricsLog& metrics) {
  base.train = c.train;
  base.train.eval_batch_size = c.data.eval_batch_size;
  base.optimizer = c.optimizer;
  base.schedule = c.schedule;
  base.loader.batch_size = c.data.batch_size;
  base.loader.workers = c.data.workers;
  base.loader.prefetch = c.data.prefetch;
  base.loader.drop_last = true;
  base.metrics = &metrics;
  base.checkpoint_dir = dir + "/checkpoint";
  base.config_json = schema.to_json();
  base.dist = c.dist;
  return base;
}

void load_initial_weights(ParamStore& store, const std::string& path, Console& console,
                          bool allow_missing_buffers) {
  TensorMap weights;
  std::vector<std::string> unused;
  std::string how;
  if (is_onnx_path(path)) {
    OnnxWeights w =
        match_onnx_initializers(store, onnx_weight_tensors(path), path, allow_missing_buffers);
    weights = std::move(w.tensors);
    unused = std::move(w.unused);
    how = " (" + std::to_string(w.by_name) + " by name, " + std::to_string(w.by_order) +
          " by order and shape)";
  } else {
    weights = load_checkpoint(path).model;
  }
  ParamStore::LoadReport r;
  try {
    r = store.load_state_dict(weights);
  } catch (const InputError& e) {  // names the tensor, its expected and its found shape
    throw_input_error("--init ", path, ": ", e.what());
  }
  std::vector<std::string> missing;
  for (const std::string& name : r.missing) {
    const ParamEntry* e = store.find(name);
    if (allow_missing_buffers && e && e->kind == ValueKind::buffer) continue;
    missing.push_back(name + " " + shape_str(e->shape));
  }
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 6; ++i) list += (i ? ", " : "") + missing[i];
    if (missing.size() > 6) list += ", ... (" + std::to_string(missing.size()) + " in all)";
    throw_input_error("--init ", path, ": missing tensors (name and expected shape): ", list);
  }
  for (const std::string& n : r.unused)  // PyTorch's BN step counter has no meaning here
    if (n.size() < 20 || n.compare(n.size() - 20, 20, ".num_batches_tracked") != 0)
      unused.push_back(n);
  std::string msg = "init: loaded " + std::to_string(weights.size() - r.unused.size()) +
                    " tensors from " + path + how;
  if (!unused.empty())
    msg += " (" + std::to_string(unused.size()) + " unused, e.g. " + unused[0] + ")";
  console.info(msg);
}

nlohmann::json evaluated_figure(const EvalResult& r, double value) {
  return r.count > 0 ? nlohmann::json(value) : nlohmann::json(nullptr);
}

void write_json_file(const std::string& path, const nlohmann::json& j) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) create_output_folder(p.parent_path().string(), path);
  write_text_file_atomically(path, j.dump(2) + "\n");
}

}  // namespace qf
