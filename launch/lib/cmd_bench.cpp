// qforge bench: inference speed and memory of a model.
//
//   qforge bench --model FILE.onnx | --init CHECKPOINT [--batch-size 16] [--iters 30]
//                [--warmup 5] [--threads N] [--int8 true|false] [--fuse true|false]
//                [--fuse-blocks true|false] [--winograd true|false] [--profile true]
//
// Runs forward passes on one random batch (uniform [-1, 1], fixed seed) and prints one line and,
// with --metrics-out, a JSON object: images per second from the median time per batch (and the
// best), and the process's peak resident memory (getrusage ru_maxrss) after the runs. QDQ models run
// on the int8 engine unless --int8 false; the graph goes through the inference pipeline first
// (docs/inference.md). --profile adds the time per op type of the timed passes.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <random>

#include "launch/lib/command_table.h"
#include "launch/lib/commands.h"
#include "launch/lib/inference.h"
#include "launch/lib/model_source.h"
#include "launch/lib/setup.h"

namespace qf {

int cmd_bench(const Args& in_args) {
  Args args = in_args;
  const std::string model_file = take_model_file(args);
  ConfigSchema schema;
  RunConfig c;
  InferenceOptions io;
  int batch = 16, iters = 30, warmup = 5;
  bool profile = false;
  bind_run_config(schema, c);
  bind_inference_options(schema, io);
  schema.add("bench.batch_size", &batch, "images per forward pass", 1, 1 << 16);
  schema.add("bench.iters", &iters, "timed forward passes", 1, 1 << 20);
  schema.add("bench.warmup", &warmup, "untimed forward passes first", 0, 1 << 20);
  schema.add("bench.profile", &profile, "also print the time per op type of the timed passes");
  schema.alias("batch-size", "bench.batch_size");
  schema.alias("profile", "bench.profile");
  schema.alias("iters", "bench.iters");
  schema.alias("warmup", "bench.warmup");
  describe_command(schema, "bench");
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("bench: unexpected argument '", positional[0], "'");
  if (!c.run.metrics_out.empty()) check_output_file(c.run.metrics_out, "run.metrics_out");
  LocalCommunicator comm;
  Console console = Console::for_rank(comm.rank());
  LoadedModel m = load_model("bench", model_file, schema, c, console);
  auto ctx = open_device(c.run, console);
  const Shape sample = m.sample_shape;
  InferenceModel model(std::move(m.graph), *ctx, io, console);

  Shape s{batch};
  s.insert(s.end(), sample.begin(), sample.end());
  Tensor x = Tensor::empty(s, DType::f32);
  std::mt19937_64 gen(1);
  std::uniform_real_distribution<float> d(-1, 1);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = d(gen);
  console.release();  // the model and device are ready: the timed part begins
  for (int i = 0; i < warmup; ++i) model.run(x, batch);
  model.executor(batch).enable_profiling(profile);
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    model.run(x, batch);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2], best = ms.front();
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double rss_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  char line[512];
  std::snprintf(line, sizeof line,
                "bench %s: batch %d, %.1f img/s (median %.2f ms/batch over %d runs; best %.1f img/s), "
                "peak RSS %.1f MB",
                m.source.c_str(), batch, batch * 1000.0 / median, median, iters, batch * 1000.0 / best,
                rss_mb);
  console.info(line);
  if (profile) console.info(model.executor(batch).profile_report());
  if (!c.run.metrics_out.empty())
    write_json_file(c.run.metrics_out, {{"model", m.source},
                                        {"batch", batch},
                                        {"images_per_sec", batch * 1000.0 / median},
                                        {"best_images_per_sec", batch * 1000.0 / best},
                                        {"median_ms", median},
                                        {"peak_rss_mb", rss_mb}});
  return 0;
}

}  // namespace qf
