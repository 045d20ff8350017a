// Training throughput of qforge beside PyTorch, measured in one run.
//
// For each row (model, input form, batch) it trains on synthetic data — forward, cross-entropy,
// backward, SGD-momentum step — and reports the median images/s over several timing windows, then
// runs the same model and step in PyTorch eager (tools/torch_train_bench.py under /usr/bin/python3,
// same thread count) and prints the ratio.
//
//   qforge_train_bench [--rows mobilenet_v1:small:64,mobilenet_v1:imagenet:16] [--threads 2]
//                      [--steps 10] [--windows 5] [--no-peer] [--zoo]
// --zoo adds a row per registered model in the small form (1x28x28) at batch 64.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench/peer_process.h"
#include "bench/synthetic_training.h"
#include "launch/lib/builtin_ops.h"
#include "models/registry.h"
#include "nn/executor.h"
#include "nn/omp_wait.h"

namespace {

struct Row {
  std::string model, form;
  int batch;
};

struct Options {
  std::vector<Row> rows{{"mobilenet_v1", "small", 64}, {"mobilenet_v1", "imagenet", 16}};
  int threads = 2;
  int steps = 10;
  int windows = 5;
  bool peer = true;
  bool profile = false;
};

qf::ModelConfig model_config(const Row& r) {
  if (r.form == "imagenet") return qf::imagenet_form(r.model);
  qf::ModelConfig c;
  c.name = r.model;
  return c;
}

double qforge_images_per_sec(const Row& r, const Options& o) {
  const qf::ModelConfig mc = model_config(r);
  qf::Graph g = qf::build_model(mc);
  qf::add_classification_loss(g, g.outputs()[0], 0.0);
  qf::bench::SyntheticTraining t(std::move(g), mc, r.batch, o.threads);
  const double rate = t.images_per_sec(3, o.windows, o.steps);
  if (o.profile) {
    t.executor().enable_profiling(true);
    for (int i = 0; i < o.steps; ++i) t.step();
    std::printf("profile of %s %s batch %d:\n%s", r.model.c_str(), r.form.c_str(), r.batch,
                t.executor().profile_report().c_str());
  }
  return rate;
}

double peer_images_per_sec(const Row& r, const Options& o) {
  const qf::ModelConfig mc = model_config(r);
  std::ostringstream cmd;
  cmd << "OMP_NUM_THREADS=" << o.threads << " /usr/bin/python3 " << QF_SOURCE_DIR
      << "/tools/torch_train_bench.py --model " << r.model << " --form " << r.form << " --batch "
      << r.batch << " --size " << mc.image_size << " --channels " << mc.in_channels
      << " --classes " << mc.num_classes << " --threads " << o.threads << " --steps " << o.steps
      << " --windows " << o.windows << " 2>/dev/null";
  return qf::bench::peer_images_per_sec(cmd.str());
}

std::vector<Row> parse_rows(const std::string& s) {
  std::vector<Row> rows;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    Row r;
    std::stringstream is(item);
    std::string batch;
    std::getline(is, r.model, ':');
    std::getline(is, r.form, ':');
    std::getline(is, batch, ':');
    r.batch = std::stoi(batch);
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  qf::use_short_omp_spin(argv);  // as qforge does (nn/omp_wait.h)
  qf::install_builtin_ops();
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--rows") o.rows = parse_rows(next());
    else if (a == "--threads") o.threads = std::stoi(next());
    else if (a == "--steps") o.steps = std::stoi(next());
    else if (a == "--windows") o.windows = std::stoi(next());
    else if (a == "--no-peer") o.peer = false;
    else if (a == "--profile") o.profile = true;
    else if (a == "--zoo") {
      for (const std::string& m : qf::model_names())
        if (m != "mobilenet_v1") o.rows.push_back(Row{m, "small", 64});
    } else {
      std::fprintf(stderr, "usage: %s [--rows model:form:batch,...] [--threads N] [--steps N] "
                           "[--windows N] [--no-peer] [--zoo]\n", argv[0]);
      return 2;
    }
  }
  std::printf("FP32 training throughput, %d threads, median of %d windows x %d steps\n",
              o.threads, o.windows, o.steps);
  std::printf("%-20s %-9s %6s %14s %14s %8s\n", "model", "form", "batch", "qforge img/s",
              "pytorch img/s", "ratio");
  for (const Row& r : o.rows) {
    const double ours = qforge_images_per_sec(r, o);
    const double peer = o.peer ? peer_images_per_sec(r, o) : 0;
    if (peer > 0)
      std::printf("%-20s %-9s %6d %14.1f %14.1f %7.2fx\n", r.model.c_str(), r.form.c_str(),
                  r.batch, ours, peer, ours / peer);
    else
      std::printf("%-20s %-9s %6d %14.1f %14s %8s\n", r.model.c_str(), r.form.c_str(), r.batch,
                  ours, "n/a", "");
    std::fflush(stdout);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  std::printf("peak RSS (qforge process): %.0f MiB\n", ru.ru_maxrss / 1024.0);
  return 0;
}
