// A training process on synthetic data, as the training benchmarks run it: the model with its
// loss, SGD with momentum (weight decay 4e-5, lr 0.01), and one random batch (normal images,
// uniform labels, seed 0) fed every step: forward, cross-entropy, backward, update.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>
#include <vector>

#include "models/registry.h"
#include "nn/executor.h"
#include "trainer/optimizer.h"

namespace qf::bench {

inline OptimizerConfig bench_optimizer() {
  OptimizerConfig oc;
  oc.weight_decay = 4e-5;
  return oc;
}

class SyntheticTraining {
 public:
  // `g` has its loss already (add_classification_loss).
  SyntheticTraining(Graph g, const ModelConfig& mc, int batch, int threads, ExecOptions eo = {})
      : graph_(std::move(g)),
        ctx_(threads),
        store_(graph_, ctx_, 1),
        exec_(graph_, store_, ctx_, eo),
        batch_(batch) {
    exec_.prepare(batch);
    opt_ = std::make_unique<SgdMomentum>(store_, bench_optimizer());
    std::mt19937 gen(0);
    std::normal_distribution<float> nd;
    x_ = Tensor::empty({batch, mc.in_channels, mc.image_size, mc.image_size}, DType::f32);
    for (int64_t i = 0; i < x_.numel(); ++i) x_.data<float>()[i] = nd(gen);
    y_ = Tensor::empty({batch}, DType::i32);
    for (int i = 0; i < batch; ++i)
      y_.data<int32_t>()[i] = static_cast<int32_t>(gen() % mc.num_classes);
  }

  void step() {
    exec_.set_input("image", x_);
    exec_.set_input("label", y_);
    exec_.forward(Mode::train, {step_++, 1});
    exec_.backward();
    opt_->step(0.01);
  }

  // Median images/s over `windows` windows of `steps` steps, after `warmup` untimed steps.
  double images_per_sec(int warmup, int windows, int steps) {
    for (int i = 0; i < warmup; ++i) step();
    std::vector<double> rates;
    for (int w = 0; w < windows; ++w) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < steps; ++i) step();
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      rates.push_back(batch_ * steps / s);
    }
    std::sort(rates.begin(), rates.end());
    return rates[rates.size() / 2];
  }

  Executor& executor() { return exec_; }
  ParamStore& store() { return store_; }
  const SgdMomentum& optimizer() const { return *opt_; }
  size_t batch_bytes() const { return x_.nbytes() + y_.nbytes(); }

 private:
  Graph graph_;  // the executor keeps a reference: declared first, destroyed last
  CpuContext ctx_;
  ParamStore store_;
  Executor exec_;
  std::unique_ptr<SgdMomentum> opt_;
  Tensor x_, y_;
  int batch_;
  int64_t step_ = 0;
};

}  // namespace qf::bench
