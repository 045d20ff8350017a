#include "trainer/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>

#include "comm/state_sync.h"
#include "trainer/checkpoint_check.h"

namespace qf {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

float read_scalar(DeviceContext& ctx, const Tensor& t) {
  Tensor host = Tensor::empty(t.shape(), DType::f32);
  ctx.copy(host, t);
  return host.data<float>()[0];
}

// Counts over all ranks (collective: every rank calls it at the same points).
TopK sum_over_ranks(const TopK& a, Communicator& comm) {
  if (comm.size() == 1) return a;
  double v[5] = {static_cast<double>(a.top1), static_cast<double>(a.top5),
                 static_cast<double>(a.count), a.loss_sum, static_cast<double>(a.nonfinite)};
  comm.all_reduce_sum_host(v, 5);
  TopK r;
  r.top1 = static_cast<int64_t>(v[0]);
  r.top5 = static_cast<int64_t>(v[1]);
  r.count = static_cast<int64_t>(v[2]);
  r.loss_sum = v[3];
  r.nonfinite = static_cast<int64_t>(v[4]);
  return r;
}

}  // namespace

Trainer::Trainer(TrainerSetup setup) : s_(std::move(setup)) {
  QF_CHECK(!s_.graph.outputs().empty(), "the graph has no logits output");
  logits_ = s_.graph.outputs()[0];
  loss_ = s_.graph.value_id("loss");
  state_.seed = s_.train.seed;
  optimizer_ = std::make_unique<SgdMomentum>(s_.store, s_.optimizer);
  sampler_ = std::make_unique<DistributedSampler>(s_.train_data.size(), true, s_.train.seed,
                                                  s_.comm.rank(), s_.comm.size(), ShardTail::drop);
  LoaderOptions lo = s_.loader;
  lo.seed = s_.train.seed;
  if (!lo.allocator) lo.allocator = &s_.ctx.host_allocator();  // pinned memory on a GPU
  loader_ = std::make_unique<DataLoader>(s_.train_data, *sampler_, lo);
  if (loader_->batches_per_epoch() < 1)
    throw_input_error("data.batch_size: ", lo.batch_size, " per rank is larger than the ",
                      "training set's share of each of the ", s_.comm.size(), " rank(s) (",
                      sampler_->samples_per_rank(), " samples) with drop_last");
  if (s_.comm.size() > 1) {
    broadcast_model_state(s_.store, s_.comm);
    grad_sync_ = std::make_unique<GradSync>(s_.store, s_.comm, s_.dist.bucket_mb);
  }
  rebuild();
}

Trainer::~Trainer() = default;

void Trainer::rebuild() {
  step_.reset();
  ExecOptions o;
  if (s_.comm.size() > 1 && (s_.sync_scales || s_.dist.sync_bn)) o.comm = &s_.comm;
  exec_ = std::make_unique<Executor>(s_.graph, s_.store, s_.ctx, o);
  exec_->prepare(s_.loader.batch_size);
  if (grad_sync_) grad_sync_->attach(*exec_);
  evaluator_ = std::make_unique<Evaluator>(s_.graph, s_.store, s_.ctx, s_.comm);
  // One training step: forward, backward, gradient average, update. On a GPU it is recorded once
  // as a CUDA graph and replayed, when every collective in it can be recorded (NCCL, or none).
  const int world = s_.comm.size();
  const bool capturable = world == 1 || s_.comm.backend() == "nccl";
  step_ = s_.ctx.make_step_graph(
      [this, world](const StepValues& v) {
        exec_->forward(Mode::train, v.step);
        exec_->backward();
        if (grad_sync_) grad_sync_->finish();  // the buckets' sums, started during backward
        optimizer_->step(v.lr, 1.f / static_cast<float>(world));
      },
      capturable);
}

void Trainer::resume(const Checkpoint& ckpt) {
  if (ckpt.optimizer.empty() || !ckpt.has_state)
    throw_input_error("checkpoint ", ckpt.dir, " has no ",
                      ckpt.optimizer.empty() ? "optimizer.safetensors" : "state.json",
                      " (it holds weights only); use --init to start a new run from its weights");
  check_optimizer_matches(s_.store, ckpt.optimizer, optimizer_file(ckpt));
  int64_t steps = loader_->batches_per_epoch();
  if (s_.train.steps_per_epoch > 0) steps = std::min(steps, s_.train.steps_per_epoch);
  check_resume_state(ckpt.state, s_.train.epochs, steps, state_file(ckpt));
  if (ckpt.state.seed != s_.train.seed)
    throw_input_error("checkpoint ", state_file(ckpt), ": field 'seed' is ", ckpt.state.seed,
                      ", this run's train.seed is ", s_.train.seed,
                      " (resume needs the same seed)");
  optimizer_->load_state_dict(ckpt.optimizer);
  if (s_.comm.size() > 1) {
    broadcast_model_state(s_.store, s_.comm);
    s_.comm.broadcast(optimizer_->velocity(), 0);
  }
  state_ = ckpt.state;
}

EvalResult Trainer::evaluate(const Dataset& data) {
  LoaderOptions lo = s_.loader;
  lo.batch_size = s_.train.eval_batch_size;
  const DistributedSampler shard(data.size(), false, 0, s_.comm.rank(), s_.comm.size(),
                                 ShardTail::uneven);
  return evaluator_->run(data, shard, lo);
}

void Trainer::save(const std::string& why) {
  if (s_.checkpoint_dir.empty() || !s_.comm.is_root()) return;
  Checkpoint c;
  c.model = s_.store.state_dict();
  c.optimizer = optimizer_->state_dict();
  c.state = state_;
  c.config = s_.config_json;
  save_checkpoint(s_.checkpoint_dir, c);
  s_.console.info("checkpoint (" + why + ") -> " + s_.checkpoint_dir);
}

void Trainer::train_epoch(TrainResult& result) {
  const int64_t epoch = state_.epoch;
  int64_t steps = loader_->batches_per_epoch();
  if (s_.train.steps_per_epoch > 0) steps = std::min(steps, s_.train.steps_per_epoch);
  loader_->start_epoch(epoch, state_.batch_in_epoch);
  const int world = s_.comm.size();
  const int64_t batch = s_.loader.batch_size;
  TopK acc, shown;  // this rank's counts; the ones last logged (all ranks')
  Batch b;
  const auto t_epoch = Clock::now();
  int64_t images = 0;
  while (state_.batch_in_epoch < steps && loader_->next(b)) {
    const double epoch_f = epoch + static_cast<double>(state_.batch_in_epoch) / steps;
    const double lr = learning_rate(s_.schedule, s_.optimizer.lr, epoch_f, s_.train.epochs);
    const auto t_step = Clock::now();
    exec_->set_input("image", b.images);
    exec_->set_input("label", b.labels);
    step_->run(StepValues{StepInfo{state_.global_step, state_.seed}, lr});
    const float loss = read_scalar(s_.ctx, exec_->tensor(loss_));
    if (!std::isfinite(loss))
      throw_input_error("training diverged: loss is ", loss, " at epoch ", epoch + 1, " step ",
                        state_.batch_in_epoch + 1, " (lower optimizer.lr)");
    const Tensor& logits = exec_->tensor(logits_);
    Tensor host = Tensor::empty(logits.shape(), DType::f32);
    s_.ctx.copy(host, logits);
    const int64_t before = acc.count;
    acc.add(host.data<float>(), b.labels.data<int32_t>(), b.size, logits.dim(1));
    acc.loss_sum += loss * static_cast<double>(acc.count - before);
    train_seconds_ += seconds_since(t_step);
    images += batch * world;
    train_images_ += batch * world;
    ++state_.batch_in_epoch;
    ++state_.global_step;

    const double elapsed = seconds_since(t_epoch);
    const double ips = images / std::max(elapsed, 1e-9);
    const int64_t done = state_.batch_in_epoch;
    const bool log_point = done % std::max(1, s_.train.log_every) == 0 || done == steps;
    if (world == 1 || log_point) shown = sum_over_ranks(acc, s_.comm);
    const std::string line =
        s_.phase + " epoch " + std::to_string(epoch + 1) + "/" + std::to_string(s_.train.epochs) +
        " step " + std::to_string(done) + "/" + std::to_string(steps) + " loss " +
        fmt("%.4f", shown.mean_loss()) + " top1 " + fmt("%.2f%%", shown.top1_pct()) + " lr " +
        fmt("%.5g", lr) + " " + fmt("%.0f", ips) + " img/s";
    if (s_.console.tty()) {
      const double eta = (steps - done) * batch * world / std::max(ips, 1e-9);
      s_.console.progress(line + " ETA " + format_duration(eta));
    } else if (log_point) {
      s_.console.info(line);
    }
    if (s_.metrics && s_.comm.is_root() && log_point)
      s_.metrics->write({{"phase", s_.phase}, {"epoch", epoch + 1}, {"step", state_.global_step},
                         {"loss", shown.mean_loss()}, {"top1", shown.top1_pct()}, {"lr", lr},
                         {"images_per_sec", ips}});
    const bool stop = s_.train.stop_after_steps > 0 &&
                      state_.global_step >= s_.train.stop_after_steps;
    if ((s_.train.checkpoint_every > 0 && state_.global_step % s_.train.checkpoint_every == 0 &&
         done < steps) ||
        (stop && done < steps))
      save("step " + std::to_string(state_.global_step));
    if (stop && done < steps) {
      result.stopped_early = true;
      break;
    }
  }
  s_.console.end_progress();
  const TopK all = sum_over_ranks(acc, s_.comm);
  result.train_loss = all.mean_loss();
  result.train_top1 = all.top1_pct();
}

TrainResult Trainer::fit() {
  TrainResult result;
  const int world = s_.comm.size();
  s_.console.info(s_.phase + ": " + std::to_string(s_.train.epochs) + " epoch(s), batch " +
                  std::to_string(s_.loader.batch_size) + " per rank x " + std::to_string(world) +
                  " rank(s) = global batch " + std::to_string(s_.loader.batch_size * world) +
                  ", " + std::to_string(loader_->batches_per_epoch()) + " steps per epoch, on " +
                  s_.ctx.device().str());
  while (state_.epoch < s_.train.epochs) {
    for (auto& hook : epoch_hooks_) hook(state_.epoch);
    train_epoch(result);
    if (result.stopped_early) break;
    const int64_t finished = state_.epoch + 1;
    if (s_.train.eval_each_epoch && s_.eval_data) {
      result.eval = evaluate(*s_.eval_data);
      s_.console.info(s_.phase + " epoch " + std::to_string(finished) +
                      " eval: " + eval_figures(result.eval) + " (" +
                      std::to_string(result.eval.count) + " images)");
      if (s_.metrics && s_.comm.is_root())
        s_.metrics->write({{"phase", s_.phase + "_eval"},
                           {"epoch", finished},
                           {"step", state_.global_step},
                           {"top1", result.eval.top1},
                           {"top5", result.eval.top5},
                           {"loss", result.eval.loss},
                           {"nonfinite_logits", result.eval.nonfinite}});
    }
    state_.epoch = finished;
    state_.batch_in_epoch = 0;
    save("epoch " + std::to_string(finished));
  }
  result.epochs = state_.epoch;
  result.steps = state_.global_step;
  result.images_per_sec = train_images_ / std::max(train_seconds_, 1e-9);
  return result;
}

}  // namespace qf
