// Peak training memory of qforge beside PyTorch eager, measured in one run (issue 19).
//
// For each row (model in the ImageNet form, batch) and mode (FP32; QAT with PaddleSlim's defaults
// beside PyTorch's eager QAT with torch.ao FakeQuantize) it runs, each in a fresh process so that
// the peak resident set of one training process is what is compared:
//   - qforge with the executor's plan (activations kept only while a backward reads them),
//   - qforge with every activation kept to the end of backward (the plan before; --no-baseline
//     leaves it out), which is also the throughput reference,
//   - PyTorch 1.13 eager (tools/torch_train_bench.py under /usr/bin/python3, same threads).
// Each process trains on synthetic data (forward, cross-entropy, backward, SGD-momentum step) and
// reports its peak RSS (getrusage), its images/s (median of the timing windows) and, for qforge,
// the planner's accounting beside the allocator's measured peak.
//
//   qforge_memory_bench [--rows mobilenet_v1:8,mobilenet_v1:32,resnet50:8,resnet50:32]
//                       [--modes fp32,qat] [--threads 2] [--steps 2] [--windows 3]
//                       [--no-peer] [--no-baseline]
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench/peer_process.h"
#include "bench/synthetic_training.h"
#include "launch/lib/builtin_ops.h"
#include "quant/quant_aware.h"

namespace {

struct Row {
  std::string model;
  int batch = 0;
};

struct Options {
  std::vector<Row> rows{{"mobilenet_v1", 8}, {"mobilenet_v1", 32}, {"resnet50", 8},
                        {"resnet50", 32}};
  std::vector<std::string> modes{"fp32", "qat"};
  int threads = 2, steps = 2, windows = 3;
  bool peer = true, baseline = true;
};

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

double peak_rss_mib() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

// One training process: builds the model, trains, prints one JSON line.
int run_child(const Row& r, const std::string& mode, bool save_all, const Options& o) {
  const qf::ModelConfig mc = qf::imagenet_form(r.model);
  qf::Graph g = qf::build_model(mc);
  if (mode == "qat") qf::quant_aware(g, qf::QuantConfig{});
  qf::add_classification_loss(g, g.outputs()[0], 0.0);
  qf::ExecOptions eo;
  eo.save_all_activations = save_all;
  qf::bench::SyntheticTraining t(std::move(g), mc, r.batch, o.threads, eo);
  // One warm-up step: oneDNN builds its kernels' code on first use.
  const double rate = t.images_per_sec(1, o.windows, o.steps);
  const qf::Executor::MemoryPlan& p = t.executor().memory_plan();
  const qf::ParamStore& store = t.store();
  const double store_bytes = static_cast<double>(store.param_arena().nbytes()) +
                             store.grad_arena().nbytes() + t.optimizer().velocity().nbytes();
  double buffers = 0;
  for (const auto& [dtype, b] : store.buffer_arenas()) buffers += b.nbytes();
  nlohmann::json j{{"peak_rss_mib", peak_rss_mib()},
                   {"alloc_peak_mib", mib(qf::cpu_allocation_stats().peak)},
                   {"planned_mib", mib(p.total() + store_bytes + buffers + t.batch_bytes())},
                   {"slots_mib", mib(p.slots)},
                   {"workspace_mib", mib(p.workspace)},
                   {"params_grads_momentum_mib", mib(store_bytes)},
                   {"images_per_sec", rate}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "qforge_memory_bench";
}

nlohmann::json qforge_run(const Row& r, const std::string& mode, bool save_all, const Options& o) {
  std::ostringstream cmd;
  cmd << self_exe() << " --child " << r.model << ":" << r.batch << ":" << mode
      << (save_all ? " --save-all" : "") << " --threads " << o.threads << " --steps " << o.steps
      << " --windows " << o.windows;
  return qf::bench::run_json(cmd.str());
}

nlohmann::json peer_run(const Row& r, const std::string& mode, const Options& o) {
  std::ostringstream cmd;
  cmd << "OMP_NUM_THREADS=" << o.threads << " /usr/bin/python3 " << QF_SOURCE_DIR
      << "/tools/torch_train_bench.py --model " << r.model << " --form imagenet --batch "
      << r.batch << " --size 224 --channels 3 --classes 1000 --threads " << o.threads
      << " --warmup 1 --steps " << o.steps << " --windows " << o.windows
      << (mode == "qat" ? " --qat" : "") << " 2>/dev/null";
  return qf::bench::run_json(cmd.str());
}

double num(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) ? j.at(key).get<double>() : 0.0;
}

std::string cell(double v, const char* fmt) {
  if (v <= 0) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

void print_row(const Row& r, const std::string& mode, const nlohmann::json& ours,
               const nlohmann::json& base, const nlohmann::json& peer) {
  const double q = num(ours, "peak_rss_mib"), b = num(base, "peak_rss_mib");
  const double t = num(peer, "peak_rss_mib");
  const double qi = num(ours, "images_per_sec"), bi = num(base, "images_per_sec");
  std::printf("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.model.c_str(),
              r.batch, mode.c_str(), cell(q, "%.0f").c_str(), cell(num(ours, "planned_mib"), "%.0f").c_str(),
              cell(num(ours, "alloc_peak_mib"), "%.0f").c_str(), cell(b, "%.0f").c_str(),
              cell(t, "%.0f").c_str(), cell(t > 0 ? q / t : 0, "%.2f").c_str(),
              cell(qi, "%.2f").c_str(), cell(bi > 0 ? qi / bi : 0, "%.3f").c_str(),
              cell(num(peer, "images_per_sec"), "%.2f").c_str());
  std::fflush(stdout);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

Row parse_row(const std::string& s) {
  const std::vector<std::string> f = split(s, ':');
  if (f.size() < 2) throw std::invalid_argument("row '" + s + "': expected model:batch");
  return Row{f[0], std::stoi(f[1])};
}

}  // namespace

int main(int argc, char** argv) {
  qf::install_builtin_ops();
  Options o;
  std::string child;
  bool save_all = false;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&] {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return std::string(argv[++i]);
      };
      if (a == "--rows") {
        o.rows.clear();
        for (const std::string& r : split(next(), ',')) o.rows.push_back(parse_row(r));
      } else if (a == "--modes") {
        o.modes = split(next(), ',');
        for (const std::string& m : o.modes)
          if (m != "fp32" && m != "qat")
            throw std::invalid_argument("--modes: '" + m + "' is not a mode (allowed: fp32, qat)");
      }
      else if (a == "--threads") o.threads = std::stoi(next());
      else if (a == "--steps") o.steps = std::stoi(next());
      else if (a == "--windows") o.windows = std::stoi(next());
      else if (a == "--no-peer") o.peer = false;
      else if (a == "--no-baseline") o.baseline = false;
      else if (a == "--child") child = next();
      else if (a == "--save-all") save_all = true;
      else throw std::invalid_argument("unknown option " + a);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qforge_memory_bench: %s\nusage: %s [--rows model:batch,...] "
                 "[--modes fp32,qat] [--threads N] [--steps N] [--windows N] [--no-peer] "
                 "[--no-baseline]\n", e.what(), argv[0]);
    return 2;
  }
  if (!child.empty()) {
    const std::vector<std::string> f = split(child, ':');
    return run_child(Row{f.at(0), std::stoi(f.at(1))}, f.at(2), save_all, o);
  }
  std::printf("Peak training memory (MiB, peak RSS of one process), ImageNet form 3x224x224, "
              "%d threads, images/s median of %d windows x %d steps\n",
              o.threads, o.windows, o.steps);
  std::printf("| model | batch | mode | qforge | planned | allocator peak | qforge, all kept | "
              "PyTorch | qforge / PyTorch | qforge img/s | vs all kept | PyTorch img/s |\n");
  std::printf("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (const Row& r : o.rows)
    for (const std::string& mode : o.modes) {
      const nlohmann::json ours = qforge_run(r, mode, false, o);
      const nlohmann::json base = o.baseline ? qforge_run(r, mode, true, o) : nullptr;
      const nlohmann::json peer = o.peer ? peer_run(r, mode, o) : nullptr;
      print_row(r, mode, ours, base, peer);
    }
  return 0;
}
