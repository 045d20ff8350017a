#include "launch/lib/run_config.h"

#include <limits>

namespace qf {

void bind_run_config(ConfigSchema& s, RunConfig& c) {
  const double inf = std::numeric_limits<double>::infinity();
  s.add("model.name", &c.model.name, "model to build", model_names());
  s.add("model.form", &c.model_form,
        "small: 1x28x28 inputs, 10 classes; imagenet: 3x224x224, 1000 classes",
        {"small", "imagenet"});
  s.add("model.scale", &c.model.scale, "width multiplier", 0.0, 4.0, true);
  s.add("model.num_classes", &c.model.num_classes, "classifier outputs", 2, 100000);
  s.add("model.in_channels", &c.model.in_channels, "input image channels", 1, 64);
  s.add("model.image_size", &c.model.image_size, "input height and width", 8, 4096);
  s.add("model.zero_init_residual", &c.model.zero_init_residual,
        "ResNets: start each residual block's last BatchNorm weight at 0");

  s.add("data.root", &c.data.root,
        "dataset folder (default: Debian's Fashion-MNIST, /usr/share/datasets/fashion-mnist)");
  s.add("data.format", &c.data.format,
        "dataset layout: idx (MNIST files) or imagelist (ImageNet: train/ val/ and list files)",
        {"idx", "imagelist"});
  s.add("data.batch_size", &c.data.batch_size, "training batch per rank", 1, 1 << 20);
  s.add("data.eval_batch_size", &c.data.eval_batch_size, "evaluation batch", 1, 1 << 20);
  s.add("data.workers", &c.data.workers, "loader threads (0: load on the training thread)", 0, 256);
  s.add("data.prefetch", &c.data.prefetch, "batches prepared ahead", 1, 64);
  s.add("data.max_idx_mb", &c.data.max_idx_mb,
        "idx: largest file accepted, in MiB once decompressed (checked from its header before "
        "reading)",
        1, int64_t{1} << 24);
  s.add("data.max_image_pixels", &c.data.max_image_pixels,
        "imagelist: largest image accepted, width x height (checked from its header before "
        "decoding)",
        1, int64_t{1} << 40);
  s.add("data.train_list", &c.data.train_list,
        "imagelist: training list ('path label' lines), relative to data.root");
  s.add("data.val_list", &c.data.val_list,
        "imagelist: validation list ('path label' lines), relative to data.root");
  s.add("data.crop_size", &c.data.crop_size,
        "imagelist: side of the square crop fed to the model (= model.image_size)", 1, 4096);
  s.add("data.resize_short", &c.data.resize_short,
        "imagelist: evaluation resizes the short side to this before the center crop", 1, 8192);
  s.add("data.interpolation", &c.data.interpolation,
        "imagelist: resampling (bilinear: OpenCV INTER_LINEAR sampling, in float; area: INTER_AREA, "
        "antialiased)",
        {"bilinear", "area"});
  s.add("data.skip_bad", &c.data.skip_bad,
        "imagelist: skip bad list lines and replace unreadable images, with warnings");
  s.add("data.check_files", &c.data.check_files,
        "imagelist: check at start that every listed image exists (one stat per line)");

  s.add("optimizer.type", &c.optimizer.type, "optimizer", {"momentum"});
  s.add("optimizer.lr", &c.optimizer.lr, "base learning rate", 0.0, inf, true);
  s.add("optimizer.momentum", &c.optimizer.momentum, "momentum", 0.0, 1.0, false, true);
  s.add("optimizer.weight_decay", &c.optimizer.weight_decay, "L2 decay coefficient", 0.0, 1.0);
  s.add("optimizer.nesterov", &c.optimizer.nesterov, "Nesterov momentum");
  s.add("optimizer.clip_norm", &c.optimizer.clip_norm,
        "clip the gradients to this global L2 norm (Paddle's ClipGradByGlobalNorm); 0: off", 0.0,
        inf);

  s.add("schedule.type", &c.schedule.type, "learning-rate schedule",
        {"constant", "piecewise", "cosine"});
  s.add("schedule.milestones", &c.schedule.milestones, "piecewise: epochs where lr *= gamma");
  s.add("schedule.gamma", &c.schedule.gamma, "piecewise factor", 0.0, 1.0, true);
  s.add("schedule.min_lr", &c.schedule.min_lr, "cosine floor", 0.0, inf);
  s.add("schedule.warmup_epochs", &c.schedule.warmup_epochs, "linear warm-up length", 0.0, inf);
  s.add("schedule.warmup_start_lr", &c.schedule.warmup_start_lr, "warm-up start", 0.0, inf);

  s.add("train.epochs", &c.train.epochs, "epochs", 1, 100000);
  s.add("train.steps_per_epoch", &c.train.steps_per_epoch, "cap on steps per epoch (0: all)", 0,
        std::numeric_limits<int64_t>::max());
  s.add("train.seed", &c.train.seed, "run seed (initialisation, data order, dropout)");
  s.add("train.label_smoothing", &c.train.label_smoothing, "label smoothing epsilon", 0.0, 1.0,
        false, true);
  s.add("train.log_every", &c.train.log_every, "steps between log lines", 1, 1 << 30);
  s.add("train.checkpoint_every", &c.train.checkpoint_every,
        "steps between checkpoints (0: end of each epoch)", 0,
        std::numeric_limits<int64_t>::max());
  s.add("train.stop_after_steps", &c.train.stop_after_steps,
        "stop after this global step, with a checkpoint (0: never)", 0,
        std::numeric_limits<int64_t>::max());
  s.add("train.eval_each_epoch", &c.train.eval_each_epoch, "evaluate after every epoch");

  s.add("run.device", &c.run.device, "auto, cpu, cuda or cuda:N");
  s.add("run.threads", &c.run.threads, "CPU threads (0: all cores)", 0, 1024);
  s.add("run.out", &c.run.out, "run directory (default runs/<model>)");
  s.add("run.init", &c.run.init,
        "weights to start from: checkpoint directory, .safetensors or FP32 .onnx file");
  s.add("run.resume", &c.run.resume, "checkpoint directory to continue training from");
  s.add("run.metrics_out", &c.run.metrics_out, "write the final metrics to this JSON file");
  s.add("run.print_config", &c.run.print_config,
        "print the resolved configuration (INI) to stdout; it is always saved as <run>/config.ini");
  s.add("log.tensorboard", &c.log.tensorboard,
        "also write the metrics as TensorBoard scalar event files into this folder "
        "(tensorboard --logdir DIR; docs/metrics.md)");
  s.add("cuda.tf32", &c.run.cuda_tf32,
        "GPU: TF32 tensor-core math in float32 convolutions and matrix products");
  s.add("cuda.graphs", &c.run.cuda_graphs,
        "GPU: record the training step once as a CUDA graph and replay it each step");

  s.add("dist.backend", &c.dist.backend,
        "collectives between ranks: auto (nccl on GPUs, mpi on the CPU, local for one process)",
        {"auto", "local", "mpi", "nccl"});
  s.add("dist.bucket_mb", &c.dist.bucket_mb,
        "gradient all-reduce bucket size in MiB (started as backward produces them)", 0.0, 4096.0,
        true);
  s.add("dist.sync_bn", &c.dist.sync_bn,
        "SyncBatchNorm: batch statistics over all ranks' samples (several ranks)");
  s.add("dist.timeout_s", &c.dist.timeout_s,
        "a collective waiting longer than this ends the job (0: wait forever)", 0.0, inf);

  s.alias("model", "model.name");
  s.alias("device", "run.device");
  s.alias("threads", "run.threads");
  s.alias("out", "run.out");
  s.alias("init", "run.init");
  s.alias("resume", "run.resume");
  s.alias("metrics-out", "run.metrics_out");
  s.alias("print-config", "run.print_config");
  s.alias("epochs", "train.epochs");
  s.alias("batch-size", "data.batch_size");
  s.alias("lr", "optimizer.lr");
  s.alias("seed", "train.seed");

  s.check([&c] {
    if (c.data.format == "imagelist" && c.data.resize_short < c.data.crop_size)
      throw_input_error("data.resize_short: ", c.data.resize_short, " is smaller than data.crop_size (",
                        c.data.crop_size, "); allowed: resize_short >= crop_size");
    if (c.schedule.type == "piecewise" && c.schedule.milestones.empty())
      throw_input_error("schedule.milestones: piecewise needs at least one milestone epoch");
    if (c.schedule.warmup_epochs >= c.train.epochs && c.schedule.warmup_epochs > 0)
      throw_input_error("schedule.warmup_epochs: ", c.schedule.warmup_epochs,
                        " must be shorter than train.epochs (", c.train.epochs, ")");
  });
}

void apply_model_form(const ConfigSchema& s, RunConfig& c) {
  c.model.small_input = c.model_form == "small";
  if (c.model_form != "imagenet") return;
  if (!s.was_set("model.num_classes")) c.model.num_classes = 1000;
  if (!s.was_set("model.in_channels")) c.model.in_channels = 3;
  if (!s.was_set("model.image_size")) c.model.image_size = 224;
}

void adopt_saved_key(ConfigSchema& s, const nlohmann::json& saved, const std::string& key) {
  if (s.was_set(key) || !saved.is_object() || !saved.contains(key)) return;
  const nlohmann::json& v = saved.at(key);
  if (!v.is_string())
    throw_input_error("the checkpoint's configuration: ", key, " must be a string, is a ",
                      v.type_name());
  s.set(key, v.get<std::string>(), "the checkpoint's configuration");
}

void adopt_checkpoint_model(ConfigSchema& s, const nlohmann::json& saved) {
  if (saved.is_null()) return;  // weights without a state.json
  if (!saved.is_object())
    throw_input_error("the checkpoint's configuration must be a JSON object, is a ",
                      saved.type_name());
  for (const char* key : {"model.name", "model.form", "model.scale", "model.num_classes",
                          "model.in_channels", "model.image_size"})
    adopt_saved_key(s, saved, key);
}

}  // namespace qf
