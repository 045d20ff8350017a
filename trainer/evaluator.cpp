#include "trainer/evaluator.h"

#include <chrono>
#include <cstdio>

#include "trainer/metrics.h"

namespace qf {

std::string eval_figures(const EvalResult& r) {
  if (r.count == 0) return "not evaluated (train.eval_each_epoch false)";
  char buf[160];
  std::snprintf(buf, sizeof buf, "top1 %.2f%% top5 %.2f%% loss %s", r.top1, r.top5,
                format_loss(r.loss).c_str());
  std::string s = buf;
  if (r.nonfinite > 0)
    s += "; " + std::to_string(r.nonfinite) + " of " + std::to_string(r.count) +
         " images had NaN/inf logits (counted as misses)";
  return s;
}

Evaluator::Evaluator(const Graph& graph, ParamStore& store, DeviceContext& ctx, Communicator& comm)
    : graph_(graph), store_(store), ctx_(ctx), comm_(comm) {
  QF_CHECK(!graph.outputs().empty(), "the graph has no logits output");
  logits_ = graph.outputs()[0];
  loss_ = graph.value_id("loss");
}

Evaluator::~Evaluator() = default;

Executor& Evaluator::executor(int64_t batch) {
  auto& e = execs_[batch];
  if (!e) {
    ExecOptions o;
    o.training = false;
    o.outputs = {graph_.value(logits_).name, graph_.value(loss_).name};
    e = std::make_unique<Executor>(graph_, store_, ctx_, o);
    e->prepare(batch);
  }
  return *e;
}

EvalResult Evaluator::run(const Dataset& data, const LoaderOptions& loader) {
  SequentialSampler sampler(data.size());
  return run(data, sampler, loader);
}

EvalResult Evaluator::run(const Dataset& data, const Sampler& sampler, const LoaderOptions& lo) {
  LoaderOptions o = lo;
  o.drop_last = false;
  DataLoader loader(data, sampler, o);
  loader.start_epoch(0);
  TopK acc;
  Batch b;
  const auto t0 = std::chrono::steady_clock::now();
  Tensor loss_host = Tensor::empty({}, DType::f32);
  while (loader.next(b)) {
    Executor& ex = executor(b.size);
    ex.set_input("image", b.images);
    ex.set_input("label", b.labels);
    ex.forward(Mode::eval);
    const Tensor& logits = ex.tensor(logits_);
    Tensor host = Tensor::empty(logits.shape(), DType::f32);
    ctx_.copy(host, logits);
    acc.add(host.data<float>(), b.labels.data<int32_t>(), b.size, logits.dim(1));
    ctx_.copy(loss_host, ex.tensor(loss_));
    acc.loss_sum += loss_host.data<float>()[0] * static_cast<double>(b.size);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double counts[5] = {static_cast<double>(acc.top1), static_cast<double>(acc.top5),
                      static_cast<double>(acc.count), acc.loss_sum,
                      static_cast<double>(acc.nonfinite)};
  comm_.all_reduce_sum_host(counts, 5);
  EvalResult r;
  r.count = static_cast<int64_t>(counts[2]);
  r.nonfinite = static_cast<int64_t>(counts[4]);
  r.top1 = r.count ? 100.0 * counts[0] / counts[2] : 0;
  r.top5 = r.count ? 100.0 * counts[1] / counts[2] : 0;
  r.loss = r.count ? counts[3] / counts[2] : 0;
  r.images_per_sec = r.count / std::max(seconds, 1e-9);
  return r;
}

}  // namespace qf
