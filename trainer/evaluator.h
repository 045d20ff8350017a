// Evaluator: top-1 / top-5 / loss of a classifier graph over a dataset, in eval mode, on the
// executor's device. Shards nothing itself: counts are summed over ranks through the communicator
// (each rank evaluates the samples its sampler gives it).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "data/loader.h"
#include "nn/communicator.h"
#include "nn/executor.h"

namespace qf {

struct EvalResult {
  double top1 = 0, top5 = 0, loss = 0;  // loss is NaN or inf when a batch's loss was
  int64_t count = 0;
  int64_t nonfinite = 0;  // images whose logits held NaN or inf (counted as misses)
  double images_per_sec = 0;
};

// "top1 91.20% top5 99.80% loss 0.2512", then, when some logits were not finite, how many images
// had them ("; 10000 of 10000 images had NaN/inf logits (counted as misses)"); "not evaluated
// (...)" when no image was (train.eval_each_epoch false).
std::string eval_figures(const EvalResult& r);

class Evaluator {
 public:
  // `graph` must have the logits as output 0 and a scalar "loss" fed by input "label".
  Evaluator(const Graph& graph, ParamStore& store, DeviceContext& ctx, Communicator& comm);
  ~Evaluator();
  EvalResult run(const Dataset& data, const Sampler& sampler, const LoaderOptions& loader);
  // Whole dataset in order.
  EvalResult run(const Dataset& data, const LoaderOptions& loader);

 private:
  Executor& executor(int64_t batch);
  const Graph& graph_;
  ParamStore& store_;
  DeviceContext& ctx_;
  Communicator& comm_;
  int logits_, loss_;
  std::map<int64_t, std::unique_ptr<Executor>> execs_;  // one per batch size (full, last partial)
};

}  // namespace qf
