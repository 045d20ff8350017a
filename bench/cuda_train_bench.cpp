// GPU training throughput of qforge beside PyTorch eager on the same GPU, in one run.
//
// For each row (model, batch) it trains on a synthetic ImageNet-form batch (3x224x224, 1000
// classes) — forward, cross-entropy, backward, SGD with momentum — and reports the median
// images/s over --windows windows of --steps steps (the device synchronised at the end of each
// window), then runs the same model and step in PyTorch (tools/gpu/torch_train_gpu.py, same TF32
// setting, cudnn.benchmark on) and prints the ratio. The batch stays on the GPU (as the peer's
// does); --h2d copies it from pinned host memory every step instead, as training from a loader.
// The step runs recorded as a CUDA graph unless --eager.
//
// A row `model:batch:qat` trains the quant-aware graph instead (quant_aware with PaddleSlim's
// defaults: channel-wise abs-max weights, moving-average abs-max activations, 8 bits), beside the
// peer's eager QAT (torch.ao.quantization FakeQuantize).
//
//   qforge_cuda_train_bench [--rows mobilenet_v1:256,mobilenet_v1:256:qat,resnet50:64]
//       [--steps 20] [--windows 5]
//       [--tf32 on|off] [--eager] [--h2d] [--profile] [--no-peer] [--python python3]
//       [--peer-format nchw|nhwc] [--peer-script tools/gpu/torch_train_gpu.py]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/peer_process.h"
#include "launch/lib/builtin_ops.h"
#include "models/registry.h"
#include "nn/caching_allocator.h"
#include "nn/executor.h"
#include "quant/quant_aware.h"
#include "trainer/optimizer.h"

namespace {

struct Row {
  std::string model;
  int batch;
  bool qat = false;
};

struct Options {
  std::vector<Row> rows{{"mobilenet_v1", 256}, {"mobilenet_v1", 256, true}, {"resnet50", 64},
                        {"resnet50", 64, true}};
  int steps = 20, windows = 5;
  bool tf32 = true, eager = false, h2d = false, profile = false, peer = true;
  std::string python = "python3", peer_format = "nchw";
  std::string peer_script = std::string(QF_SOURCE_DIR) + "/tools/gpu/torch_train_gpu.py";
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Result {
  double images_per_sec = 0;
  double peak_mib = 0;
  bool recorded = false;
};

Result qforge_images_per_sec(const Row& r, const Options& o) {
  const qf::ModelConfig mc = qf::imagenet_form(r.model);
  qf::Graph g = qf::build_model(mc);
  if (r.qat) qf::quant_aware(g, qf::QuantConfig{});
  qf::add_classification_loss(g, g.outputs()[0], 0.0);
  qf::ContextOptions co;
  co.tf32 = o.tf32;
  co.cuda_graphs = !o.eager;
  auto ctx = qf::make_context(qf::Device::cuda(0), co);
  qf::ParamStore store(g, *ctx, 1);
  qf::Executor ex(g, store, *ctx);
  ex.prepare(r.batch);
  qf::OptimizerConfig oc;
  oc.lr = 0.01;
  oc.weight_decay = 4e-5;
  qf::SgdMomentum opt(store, oc);
  std::mt19937 gen(0);
  std::normal_distribution<float> nd;
  qf::Tensor x = qf::Tensor::empty({r.batch, 3, 224, 224}, qf::DType::f32, ctx->host_allocator());
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = nd(gen);
  qf::Tensor y = qf::Tensor::empty({r.batch}, qf::DType::i32, ctx->host_allocator());
  for (int i = 0; i < r.batch; ++i) y.data<int32_t>()[i] = static_cast<int32_t>(gen() % 1000);
  ex.set_input("image", x);
  ex.set_input("label", y);
  auto step_graph = ctx->make_step_graph(
      [&](const qf::StepValues& v) {
        ex.forward(qf::Mode::train, v.step);
        ex.backward();
        opt.step(v.lr);
      },
      true);
  int64_t step = 0;
  auto train_step = [&] {
    if (o.h2d) {
      ex.set_input("image", x);
      ex.set_input("label", y);
    }
    step_graph->run({{step, 1}, 0.01});
    ++step;
  };
  for (int i = 0; i < 3; ++i) train_step();
  ctx->synchronize();
  std::vector<double> rates;
  for (int w = 0; w < o.windows; ++w) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < o.steps; ++i) train_step();
    ctx->synchronize();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(r.batch * o.steps / s);
  }
  Result res;
  res.images_per_sec = median(rates);
  res.recorded = step_graph->recorded();
  if (auto* a = dynamic_cast<qf::CachingAllocator*>(&ctx->allocator()))
    res.peak_mib = a->stats().peak_in_use_bytes / 1048576.0;
  if (o.profile) {  // eager, synchronised per node: where the time goes
    ex.enable_profiling(true);
    for (int i = 0; i < o.steps; ++i) {
      ex.forward(qf::Mode::train, {step++, 1});
      ex.backward();
      opt.step(0.01);
    }
    ctx->synchronize();
    std::printf("profile of %s batch %d:\n%s", r.model.c_str(), r.batch,
                ex.profile_report().c_str());
  }
  return res;
}

double peer_images_per_sec(const Row& r, const Options& o, const std::string& mode) {
  std::ostringstream cmd;
  // The peer runs without this process's LD_LIBRARY_PATH (qforge's carried libraries).
  cmd << "env -u LD_LIBRARY_PATH " << o.python << " " << o.peer_script << " --model " << r.model
      << " --batch " << r.batch << " --mode " << mode << " --steps " << o.steps << " --windows "
      << o.windows << " --format " << o.peer_format << (o.tf32 ? " --tf32" : "") << " 2>/dev/null";
  return qf::bench::peer_images_per_sec(cmd.str());
}

std::vector<Row> parse_rows(const std::string& s) {
  std::vector<Row> rows;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::vector<std::string> f;
    std::stringstream is(item);
    for (std::string part; std::getline(is, part, ':');) f.push_back(part);
    if (f.size() < 2 || f.size() > 3 || (f.size() == 3 && f[2] != "qat"))
      throw qf::InputError("--rows: expected model:batch or model:batch:qat, got " + item);
    rows.push_back({f[0], std::stoi(f[1]), f.size() == 3});
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  qf::install_builtin_ops();
  Options o;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
      if (a == "--rows")
        o.rows = parse_rows(next());
      else if (a == "--steps")
        o.steps = std::stoi(next());
      else if (a == "--windows")
        o.windows = std::stoi(next());
      else if (a == "--tf32")
        o.tf32 = next() != "off";
      else if (a == "--eager")
        o.eager = true;
      else if (a == "--h2d")
        o.h2d = true;
      else if (a == "--profile")
        o.profile = true;
      else if (a == "--no-peer")
        o.peer = false;
      else if (a == "--python")
        o.python = next();
      else if (a == "--peer-format")
        o.peer_format = next();
      else if (a == "--peer-script")
        o.peer_script = next();
      else
        throw qf::InputError("unknown argument " + a);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "%s\nusage: %s [--rows model:batch[:qat],...] [--steps N] [--windows N] "
                 "[--tf32 on|off] [--eager] [--h2d] [--profile] [--no-peer] "
                 "[--python PY] [--peer-format nchw|nhwc] [--peer-script PATH]\n",
                 e.what(), argv[0]);
    return 2;
  }
  if (!qf::cuda_available()) {
    std::fprintf(stderr, "%s\n", qf::cuda_status().c_str());
    return 1;
  }
  std::printf(
      "GPU: %s\nTraining (FP32, or QAT rows), 3x224x224, 1000 classes, TF32 %s, %s, batch %s, median of "
      "%d windows x %d steps\n",
      qf::cuda_status().c_str(), o.tf32 ? "on" : "off",
      o.eager ? "eager launches" : "step recorded as a CUDA graph",
      o.h2d ? "copied from pinned memory each step" : "resident on the GPU", o.windows, o.steps);
  std::printf("%-14s %6s %5s %14s %10s %16s %8s\n", "model", "batch", "mode", "qforge img/s",
              "peak MiB", "pytorch img/s", "ratio");
  for (const Row& r : o.rows) {
    const char* mode = r.qat ? "qat" : "fp32";
    Result ours;
    try {
      ours = qforge_images_per_sec(r, o);
    } catch (const qf::InputError& e) {
      std::printf("%-14s %6d %5s  skipped: %s\n", r.model.c_str(), r.batch, mode, e.what());
      continue;
    }
    const double peer = o.peer ? peer_images_per_sec(r, o, mode) : 0;
    std::printf(
        "%-14s %6d %5s %14.1f %10.0f %16s %8s%s\n", r.model.c_str(), r.batch, mode,
        ours.images_per_sec,
        ours.peak_mib, peer > 0 ? std::to_string(static_cast<int>(peer + 0.5)).c_str() : "n/a",
        peer > 0 ? (std::to_string(ours.images_per_sec / peer).substr(0, 4) + "x").c_str() : "",
        ours.recorded || o.eager ? "" : "  (not recorded)");
    std::fflush(stdout);
  }
  return 0;
}
