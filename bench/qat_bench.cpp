// QAT training throughput beside FP32 for the same model, in one run.
//
//   qat_bench [--image-size 28] [--batch 64] [--rounds 7] [--steps 4] [--threads 0]
//             [--export DIR] [--profile 1]
//
// Builds MobileNetV1 (small form at 28x28, 10 classes; ImageNet form at 224, 1000 classes), and
// its quant-aware twin (quant_aware with PaddleSlim's defaults: channel-wise abs-max weights,
// moving-average abs-max activations, 8 bits). Each round times `steps` full training steps
// (forward, backward, SGD update) of FP32 and then of QAT on the same random batch; rounds
// alternate so that load from other processes hits both alike. Prints the median img/s of each
// and the QAT cost relative to FP32. --export DIR also writes DIR/mobilenet_v1_<size>_fp32.onnx and
// DIR/mobilenet_v1_<size>_int8.onnx (scales from the benchmark's training steps) for
// tools/ort/bench_onnx.js.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "io/onnx_export.h"
#include "launch/lib/builtin_ops.h"
#include "models/registry.h"
#include "nn/executor.h"
#include "quant/convert.h"
#include "quant/quant_aware.h"
#include "trainer/optimizer.h"

namespace qf {
namespace {

struct Runner {
  Graph g;
  std::unique_ptr<ParamStore> store;
  std::unique_ptr<Executor> exec;
  std::unique_ptr<SgdMomentum> opt;
  int64_t step = 0;

  Runner(Graph graph, CpuContext& ctx, int64_t batch, const Tensor& images, const Tensor& labels)
      : g(std::move(graph)) {
    store = std::make_unique<ParamStore>(g, ctx, 1);
    exec = std::make_unique<Executor>(g, *store, ctx);
    exec->prepare(batch);
    OptimizerConfig oc;
    oc.lr = 1e-4;
    opt = std::make_unique<SgdMomentum>(*store, oc);
    exec->set_input("image", images);
    exec->set_input("label", labels);
  }
  // Wall seconds of `steps` steps; `cpu` gets the process's CPU seconds over them.
  double time_steps(int steps, double* cpu = nullptr) {
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) {
      exec->forward(Mode::train, StepInfo{step++, 1});
      exec->backward();
      opt->step(1e-4);
    }
    if (cpu) *cpu = cpu_seconds() - c0;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  static double cpu_seconds() {
    rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Options {
  int64_t size = 28, batch = 64;
  int rounds = 7, steps = 4, threads = 0;
  bool profile = false;
  std::string export_dir;
};

// False (after saying why) on an unknown option.
bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--image-size")
      o.size = std::stoll(v);
    else if (k == "--batch")
      o.batch = std::stoll(v);
    else if (k == "--rounds")
      o.rounds = std::stoi(v);
    else if (k == "--steps")
      o.steps = std::stoi(v);
    else if (k == "--threads")
      o.threads = std::stoi(v);
    else if (k == "--export")
      o.export_dir = v;
    else if (k == "--profile")
      o.profile = v == "1";
    else {
      std::fprintf(stderr, "qat_bench: unknown option %s\n", k.c_str());
      return false;
    }
  }
  return true;
}

// Per-op-type times of one more round, each side.
void print_profiles(Runner& a, Runner& b, int steps) {
  for (Runner* r : {&a, &b}) {
    r->exec->enable_profiling(true);
    r->exec->reset_profile();
    r->time_steps(steps);
    std::printf("%s per-op profile (%d steps):\n%s", r == &a ? "fp32" : "qat", steps,
                r->exec->profile_report().c_str());
    r->exec->enable_profiling(false);
  }
}

int run(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) return 2;
  const int64_t size = o.size, batch = o.batch;
  CpuContext ctx(o.threads);
  ModelConfig mc;
  mc.name = "mobilenet_v1";
  if (size >= 64) mc = imagenet_form("mobilenet_v1");
  mc.image_size = static_cast<int>(size);
  Graph fp32 = build_model(mc);
  add_classification_loss(fp32, fp32.outputs()[0], 0.0);
  Graph qat = fp32;
  const QuantAwareReport rep = quant_aware(qat, QuantConfig{});
  Tensor images = Tensor::empty({batch, mc.in_channels, size, size}, DType::f32);
  for (int64_t i = 0; i < images.numel(); ++i)
    images.data<float>()[i] = static_cast<float>(((i * 2654435761u) % 2001) / 1000.0 - 1.0);
  Tensor labels = Tensor::empty({batch}, DType::i32);
  for (int64_t i = 0; i < batch; ++i)
    labels.data<int32_t>()[i] = static_cast<int32_t>(i % mc.num_classes);

  Runner a(fp32, ctx, batch, images, labels), b(qat, ctx, batch, images, labels);
  a.time_steps(1);  // warm-up: first-touch memory, oneDNN primitive caches
  b.time_steps(1);
  std::vector<double> ta, tb, ca, cb;
  for (int r = 0; r < o.rounds; ++r) {
    double c;
    ta.push_back(batch * o.steps / a.time_steps(o.steps, &c));
    ca.push_back(batch * o.steps / c);
    tb.push_back(batch * o.steps / b.time_steps(o.steps, &c));
    cb.push_back(batch * o.steps / c);
  }
  const double fa = median(ta), fb = median(tb);
  std::printf("MobileNetV1 %lldx%lld, batch %lld, %d threads, %d rounds x %d steps (median)\n",
              static_cast<long long>(size), static_cast<long long>(size),
              static_cast<long long>(batch), ctx.threads(), o.rounds, o.steps);
  std::printf(
      "  qat graph: %zu ops quantized, %d weight + %d activation quantizers, %d observers\n",
      rep.quantized.size(), rep.weight_quantizers, rep.activation_quantizers, rep.observers);
  std::printf("  fp32 training: %8.1f img/s\n", fa);
  std::printf("  qat  training: %8.1f img/s\n", fb);
  std::printf("  qat cost over fp32: %+.1f%% (time per step x%.3f)\n", (fa / fb - 1) * 100,
              fa / fb);
  if (o.profile) print_profiles(a, b, o.steps);
  if (!o.export_dir.empty()) {
    const std::string base = o.export_dir + "/mobilenet_v1_" + std::to_string(size);
    export_onnx(inference_graph(fp32, a.store->state_dict()), base + "_fp32.onnx");
    export_onnx(convert(qat, b.store->state_dict(), ConvertForm::int8), base + "_int8.onnx");
    std::printf("  wrote %s_fp32.onnx and %s_int8.onnx\n", base.c_str(), base.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace qf

int main(int argc, char** argv) {
  qf::install_builtin_ops();
  try {
    return qf::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qat_bench: %s\n", e.what());
    return 2;
  }
}
