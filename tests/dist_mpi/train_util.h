// Helpers of the "N ranks = one big batch" tests under mpirun (trainer_mpi_test, qat_mpi_test):
// a small deterministic dataset, a training run through the Trainer on a given communicator, and
// the relative difference the tests compare with.
//
// train() builds the graph from RunOptions::graph (with the loss; SyncBatchNorm marked when the
// options ask for it), initialises it from `init_seed` (ranks may start from different weights:
// the Trainer's broadcast must fix that), and trains `steps` steps of batch `batch` per rank with
// the StripeDataset (400 samples), SGD with momentum and weight decay, and small gradient buckets.
// It returns the final state dict (parameters and buffers: BN statistics, quantizer scales).
#pragma once

#include <cmath>
#include <functional>
#include <map>
#include <string>

#include "nn/communicator.h"
#include "nn/graph.h"
#include "trainer/trainer.h"

namespace qf::test {

// 1x10x10 images of 4 classes: a class-dependent stripe pattern plus per-sample variation.
class StripeDataset final : public Dataset {
 public:
  explicit StripeDataset(int64_t n) : n_(n) {}
  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return {1, 10, 10}; }
  int num_classes() const override { return 4; }
  std::string describe() const override { return "stripe dataset"; }
  int32_t get(int64_t i, float* out, SampleRng&) const override {
    const int32_t label = static_cast<int32_t>((i * 7) % 4);
    for (int k = 0; k < 100; ++k) {
      const int row = k / 10, col = k % 10;
      const double stripe = ((row + label * col) % 4 == 0) ? 1.0 : 0.0;
      out[k] = static_cast<float>(stripe + 0.3 * std::sin(0.37 * i + 0.11 * k) + 0.2);
    }
    return label;
  }

 private:
  int64_t n_;
};

struct Trained {
  std::map<std::string, Tensor> state;
  int64_t steps = 0;
};

struct RunOptions {
  std::function<Graph(bool sync_bn)> graph;  // the model with its loss; marks SyncBN if asked
  int64_t batch = 6;
  bool sync_bn = true;
  bool sync_scales = true;
  int64_t steps = 6;
  uint64_t init_seed = 7;
  std::string checkpoint_dir;       // rank 0 writes checkpoints here
  int64_t stop_after = 0;           // stop (with a checkpoint) after this step
  const Checkpoint* resume = nullptr;
  bool load_resume_weights = true;  // this rank loads the checkpoint's weights itself
};

inline Trained train(Communicator& comm, const RunOptions& o) {
  Graph g = o.graph(o.sync_bn);
  CpuContext ctx(1);
  ParamStore store(g, ctx, o.init_seed);
  if (o.resume && o.load_resume_weights) store.load_state_dict(o.resume->model);
  Console console(false, false);
  StripeDataset data(400);
  TrainerSetup s{g, store, ctx, comm, console, data, nullptr};
  s.train.epochs = 1;
  s.train.steps_per_epoch = o.steps;
  s.train.seed = 5;
  s.train.eval_each_epoch = false;
  s.train.stop_after_steps = o.stop_after;
  s.optimizer.lr = 0.05;
  s.optimizer.momentum = 0.9;
  s.optimizer.weight_decay = 1e-4;
  s.loader.batch_size = o.batch;
  s.loader.workers = 0;
  s.loader.drop_last = true;
  s.dist.sync_bn = o.sync_bn;
  s.dist.bucket_mb = 0.002;  // a few buckets for these small models
  s.sync_scales = o.sync_scales;
  s.checkpoint_dir = o.checkpoint_dir;
  Trainer t(s);
  if (o.resume) t.resume(*o.resume);
  const TrainResult r = t.fit();
  return {store.state_dict(), r.steps};
}

// max |a - b| / max |b| over an f32 tensor.
inline double rel_diff(const Tensor& a, const Tensor& b) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    num = std::max(num, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
    den = std::max(den, std::fabs(static_cast<double>(b.data<float>()[i])));
  }
  return den > 0 ? num / den : num;
}

}  // namespace qf::test
