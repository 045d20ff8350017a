// Trainer: the training loop. It orchestrates data/, nn/, comm/ and the optimizer and holds no
// kernels: per step it feeds a batch, runs forward and backward, averages gradients across ranks,
// and takes an optimizer step at the scheduled learning rate; per epoch it evaluates and writes a
// checkpoint. Progress goes to the console (rank 0) and to the JSON-lines metrics log.
//
// Data parallel (comm.size() = W > 1): parameters and buffers are broadcast from rank 0 when the
// trainer is made and on resume; each rank takes its DistributedSampler share of every epoch's
// order (data/distributed_sampler.h) with the per-rank batch; gradients are summed in buckets
// during backward (comm/grad_sync.h) and the optimizer divides by W; kernels that must agree
// across ranks (quantizer scales with sync_scales, batch_norm nodes marked sync) get the
// communicator. So W ranks with batch B take the steps of one process with batch W·B. Logged
// loss and accuracy are summed over ranks at each log line; only rank 0 prints and writes files.
//
// Determinism: the batch order depends only on (seed, epoch), dropout masks on (seed, step), and
// the optimizer and every buffer are checkpointed, so a run resumed from a mid-epoch checkpoint
// ends with the same weights as an uninterrupted one (same device and thread count).
#pragma once

#include <functional>
#include <map>
#include <memory>

#include "comm/grad_sync.h"
#include "comm/make_communicator.h"
#include "data/distributed_sampler.h"
#include "data/loader.h"
#include "nn/communicator.h"
#include "nn/executor.h"
#include "trainer/checkpoint.h"
#include "trainer/console.h"
#include "trainer/evaluator.h"
#include "trainer/lr_schedule.h"
#include "trainer/metrics.h"
#include "trainer/optimizer.h"

namespace qf {

struct TrainConfig {
  int epochs = 1;
  int64_t steps_per_epoch = 0;   // 0: the whole training set each epoch
  uint64_t seed = 1;
  double label_smoothing = 0.0;
  int log_every = 50;            // steps between log lines when not on a terminal
  int64_t checkpoint_every = 0;  // steps between checkpoints (0: at the end of each epoch only)
  int64_t stop_after_steps = 0;  // stop (after checkpointing) at this global step; 0: never
  bool eval_each_epoch = true;
  int eval_batch_size = 250;
};

struct TrainResult {
  EvalResult eval;               // after the last epoch (if evaluated)
  double train_loss = 0, train_top1 = 0;  // over the last epoch
  double images_per_sec = 0;     // training throughput over all ranks, excluding evaluation
  int64_t epochs = 0, steps = 0;
  bool stopped_early = false;    // stop_after_steps was reached
};

struct TrainerSetup {
  const Graph& graph;  // with the loss (add_classification_loss); output 0 = logits
  ParamStore& store;
  DeviceContext& ctx;
  Communicator& comm;
  Console& console;
  const Dataset& train_data;
  const Dataset* eval_data = nullptr;
  TrainConfig train;
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  LoaderOptions loader;
  MetricsLog* metrics = nullptr;
  std::string checkpoint_dir;   // empty: no checkpoints
  nlohmann::json config_json;   // the resolved configuration, saved with checkpoints
  std::string phase = "train";  // tag in log lines and metrics ("train", "qat")
  DistConfig dist;              // bucket size, sync_bn (several ranks)
  bool sync_scales = true;      // quantizer scales from the batch max over all ranks
};

class Trainer {
 public:
  explicit Trainer(TrainerSetup setup);
  ~Trainer();

  // Continues from a checkpoint's optimizer state and progress (the caller loads its weights,
  // after check_model_matches). First checks (trainer/checkpoint_check.h) that the optimizer
  // state matches the model exactly, that the position lies inside this run's schedule and that
  // the seed is this run's: InputError naming the file and field otherwise, before any collective.
  void resume(const Checkpoint& ckpt);
  TrainResult fit();
  EvalResult evaluate(const Dataset& data);

  // Called at the start of every epoch, before its first step. Hooks that change the graph
  // (freezing BN statistics, quantizer scales) call rebuild() afterwards.
  void on_epoch_start(std::function<void(int64_t epoch)> hook) { epoch_hooks_.push_back(hook); }
  void rebuild();

  const TrainState& state() const { return state_; }
  Executor& executor() { return *exec_; }
  const GradSync* grad_sync() const { return grad_sync_.get(); }  // null in one process

 private:
  void train_epoch(TrainResult& result);
  void save(const std::string& why);

  TrainerSetup s_;
  std::unique_ptr<Executor> exec_;
  std::unique_ptr<StepGraph> step_;  // runs exec_'s training step (recorded on a GPU)
  std::unique_ptr<Evaluator> evaluator_;
  std::unique_ptr<SgdMomentum> optimizer_;
  std::unique_ptr<DistributedSampler> sampler_;
  std::unique_ptr<GradSync> grad_sync_;
  std::unique_ptr<DataLoader> loader_;
  TrainState state_;
  std::vector<std::function<void(int64_t)>> epoch_hooks_;
  int logits_ = -1, loss_ = -1;
  double train_seconds_ = 0;
  int64_t train_images_ = 0;
};

}  // namespace qf
