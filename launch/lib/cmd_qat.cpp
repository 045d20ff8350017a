// qforge qat: quant-aware training (PaddleSlim's quant_aware + convert, quant/quant_aware.h).
//
//   qforge qat --config configs/fashion_mnist/mobilenet_v1_qat.ini --init <fp32 checkpoint>
//
// Builds the model, rewrites it with the quant_aware pass ([quant] section), loads the FP32 weights
// (quantizer state starts fresh) or --resume's QAT checkpoint, fine-tunes while evaluating the
// simulated-int8 model after every epoch, and at the end writes the checkpoint (quantizer state
// included) and both converted models: <run>/model_float_grid.onnx (weights on the int8 grid,
// simulated in float) and <run>/model_int8.onnx (int8 QDQ). The int8 graph is also evaluated with
// qforge's own kernels, as a check that conversion kept what training simulated. Before exporting,
// quant.align_folded_bias (default on) moves each folded BatchNorm's beta onto the int8 export's
// int32 bias grid (quant/convert.h) and evaluates the simulated model again; the checkpoint is
// rewritten with the aligned model, so all three (checkpoint, float grid, int8) agree.
//
// Under `mpirun -np N` (docs/distributed.md) every rank runs this with its share of every batch
// and the Trainer's communicator: gradients are averaged, activation scales follow the batch max
// over all ranks (quant.sync_scales), BatchNorm the statistics over all ranks (dist.sync_bn), and
// the int8 evaluation is split across ranks. Rank 0 alone prints and writes the run directory,
// checkpoints and ONNX files. With quant.sync_scales off each rank keeps its own scales (as
// PaddleSlim does); the log then says how far they drifted apart and that rank 0's are exported.

#include "comm/state_sync.h"
#include "data/distributed_sampler.h"
#include "launch/lib/command_table.h"
#include "launch/lib/commands.h"
#include "launch/lib/quant_setup.h"
#include "launch/lib/rank_agreement.h"
#include "launch/lib/setup.h"
#include "nn/ops/batch_norm/batch_norm.h"
#include "trainer/checkpoint_check.h"
#include "trainer/evaluator.h"

namespace qf {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// The run's configuration ([quant] included) and the checkpoint it starts from (--init) or
// continues (--resume), whose saved model and quant keys are adopted unless set here.
Checkpoint parse_qat_command(const Args& args, ConfigSchema& schema, RunConfig& c,
                             QuantSection& q) {
  bind_run_config(schema, c);
  bind_quant_config(schema, q);
  describe_command(schema, "qat");
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("qat: unexpected argument '", positional[0], "'");
  if (c.run.init.empty() == c.run.resume.empty())
    throw_input_error(
        "qat: give the weights to start from with --init CHECKPOINT (FP32 or QAT), "
        "or --resume CHECKPOINT to continue a QAT run (exactly one of them)");
  Checkpoint ck = load_checkpoint(c.run.init.empty() ? c.run.resume : c.run.init);
  adopt_checkpoint_model(schema, ck.config);
  if (is_quant_checkpoint(ck)) adopt_checkpoint_quant(schema, ck.config);
  apply_model_form(schema, c);
  schema.validate();
  check_run_outputs(c, {"model_int8.onnx", "model_float_grid.onnx"});
  return ck;
}

void log_quant_aware(Console& console, const QuantAwareReport& rep) {
  console.info("quant_aware: " + std::to_string(rep.quantized.size()) + " ops quantized (" +
               std::to_string(rep.weight_quantizers) + " weight, " +
               std::to_string(rep.activation_quantizers) + " activation quantizers, " +
               std::to_string(rep.observers) + " output observers, " + std::to_string(rep.pacts) +
               " PACT clips, " + std::to_string(rep.folded_bn) + " BN folded), " +
               std::to_string(rep.skipped.size()) + " skipped by not_quant_pattern");
}

// quant.freeze_bn_after_epoch / freeze_scales_after_epoch: at the start of those epochs the graph
// changes and the trainer rebuilds its executors.
void install_freeze_schedules(Trainer& trainer, Graph& g, const QuantConfig& q, Console& console) {
  trainer.on_epoch_start(
      [&trainer, &g, &console, q, bn_frozen = false, scales_frozen = false](int64_t epoch) mutable {
        bool changed = false;
        if (q.freeze_bn_after_epoch >= 0 && epoch >= q.freeze_bn_after_epoch && !bn_frozen) {
          console.info("qat: BatchNorm statistics frozen from epoch " + std::to_string(epoch + 1) +
                       " (" + std::to_string(freeze_batch_norm(g)) + " layers)");
          bn_frozen = changed = true;
        }
        if (q.freeze_scales_after_epoch >= 0 && epoch >= q.freeze_scales_after_epoch &&
            !scales_frozen) {
          console.info("qat: activation scales frozen from epoch " + std::to_string(epoch + 1) +
                       " (" + std::to_string(freeze_activation_scales(g)) + " quantizers)");
          scales_frozen = changed = true;
        }
        if (changed) trainer.rebuild();
      });
}

// quant.align_folded_bias: moves the folded BatchNorms' betas onto the int8 export's grid,
// re-evaluates the simulated model and rewrites the checkpoint with it. Returns the simulated
// model's evaluation (the training's when nothing moved).
EvalResult align_biases(const Graph& g, ParamStore& store, Trainer& trainer, const TrainResult& r,
                        const RunConfig& c, const Dataset& test_data, const std::string& dir,
                        const Communicator& comm, Console& console) {
  TensorMap aligned = store.state_dict();
  double shift = 0;
  const int moved = align_folded_bias(g, aligned, &shift);
  if (moved == 0) return r.eval;
  store.load_state_dict(aligned);
  EvalResult simulated = r.eval;
  std::string figures;
  if (c.train.eval_each_epoch) {
    simulated = trainer.evaluate(test_data);
    figures =
        ": simulated top1 " + fmt("%.2f%%", r.eval.top1) + " -> " + fmt("%.2f%%", simulated.top1);
  }
  console.info("qat: " + std::to_string(moved) +
               " folded BatchNorm biases aligned to the int8 export's int32 grid (largest beta "
               "change " +
               fmt("%.3g", shift) + ")" + figures);
  if (comm.is_root()) {  // the checkpoint holds the model that is exported
    Checkpoint ck = load_checkpoint(dir + "/checkpoint");
    ck.model = store.state_dict();
    save_checkpoint(dir + "/checkpoint", ck);
  }
  return simulated;
}

// Writes both converted models (rank 0).
QuantExports export_models(const Graph& g, const TensorMap& state, const std::string& dir,
                           Console& console) {
  const QuantExports ex = write_quant_exports(g, state, dir + "/model");
  console.info("convert: " + std::to_string(ex.int8_report.weights) + " int8 weights, " +
               std::to_string(ex.int8_report.activation_pairs) + " activation Q/DQ pairs, " +
               std::to_string(ex.int8_report.output_pairs) + " conv-output pairs, " +
               std::to_string(ex.int8_report.folded_bn) + " BN folded -> " + ex.int8_path + " (" +
               fmt("%.2f", ex.int8_bytes / 1e6) + " MB), " + ex.float_grid_path + " (" +
               fmt("%.2f", ex.float_grid_bytes / 1e6) + " MB)");
  return ex;
}

// The converted int8 graph evaluated with qforge's kernels, the test set split across ranks.
EvalResult evaluate_int8(const Graph& g, const TensorMap& state, const RunConfig& c,
                         const Dataset& test_data, DeviceContext& ctx, Communicator& comm) {
  Graph int8 = convert(g, state, ConvertForm::int8);
  add_classification_loss(int8, int8.outputs()[0], c.train.label_smoothing);
  ParamStore int8_store(int8, ctx, 0);
  LoaderOptions lo;
  lo.batch_size = c.data.eval_batch_size;
  lo.workers = c.data.workers;
  lo.prefetch = c.data.prefetch;
  const DistributedSampler shard(test_data.size(), false, 0, comm.rank(), comm.size(),
                                 ShardTail::uneven);
  return Evaluator(int8, int8_store, ctx, comm).run(test_data, shard, lo);
}

void write_qat_metrics(const std::string& path, const TrainResult& r, const EvalResult& simulated,
                       const EvalResult& e8, const QuantExports& exports) {
  write_json_file(path, {{"top1", evaluated_figure(simulated, simulated.top1)},
                         {"top5", evaluated_figure(simulated, simulated.top5)},
                         {"loss", simulated.loss},
                         {"top1_before_bias_alignment", evaluated_figure(r.eval, r.eval.top1)},
                         {"int8_graph_top1", e8.top1},
                         {"images_per_sec", r.images_per_sec},
                         {"epochs", r.epochs},
                         {"steps", r.steps},
                         {"train_loss", r.train_loss},
                         {"train_top1", r.train_top1},
                         {"int8_onnx", exports.int8_path},
                         {"int8_onnx_bytes", exports.int8_bytes},
                         {"float_grid_onnx", exports.float_grid_path},
                         {"float_grid_onnx_bytes", exports.float_grid_bytes}});
}

}  // namespace

int cmd_qat(const Args& args) {
  ConfigSchema schema;
  RunConfig c;
  QuantSection q;
  const Checkpoint ck = parse_qat_command(args, schema, c, q);
  const std::string from = c.run.init.empty() ? c.run.resume : c.run.init;

  Console console = Console::for_rank(launch_env().world_rank);
  // The data is checked before anything is printed, so bad input ends with exactly one line.
  const auto train_data = open_dataset(c.data, "train", c.model.num_classes);
  const auto test_data = open_dataset(c.data, "test", c.model.num_classes);
  check_dataset_fits_model(*train_data, c.model);
  check_dataset_fits_model(*test_data, c.model);
  print_resolved_config(c, schema, console);
  auto ctx = open_device(c.run, console);
  const auto comm_ptr = open_communicator(c.dist, *ctx);
  Communicator& comm = *comm_ptr;

  Graph g = build_model(c.model);
  add_classification_loss(g, g.outputs()[0], c.train.label_smoothing);
  const QuantAwareReport rep = quant_aware(g, q.config);
  log_quant_aware(console, rep);
  const int synced_bn = c.dist.sync_bn && comm.size() > 1 ? mark_sync_batch_norm(g) : 0;
  if (comm.size() > 1)
    console.info(dist_summary(comm, c.dist, synced_bn) + ", activation scales " +
                 (q.config.sync_scales
                      ? "synchronised (batch max over all ranks)"
                      : "per rank (quant.sync_scales false; rank 0's are exported)"));
  ParamStore store(g, *ctx, c.train.seed);
  if (!c.run.resume.empty()) check_model_matches(store, ck.model, model_file(ck));
  load_quant_weights(store, ck, from, rep, !c.run.init.empty(), console);

  check_ranks_agree(comm,
                    training_facts("qat", schema, store, *train_data, *test_data,
                                   c.run.resume.empty() ? nullptr : &ck.state),
                    c.dist.timeout_s);
  MetricsLog metrics;  // opened with the run folder, once the resume state is checked too
  TrainerSetup setup = trainer_setup({g, store, *ctx, comm, console, *train_data, test_data.get()},
                                     c, schema, run_directory(c), metrics);
  setup.phase = "qat";
  setup.sync_scales = q.config.sync_scales;
  Trainer trainer(setup);
  if (!c.run.resume.empty()) trainer.resume(ck);
  const std::string dir = prepare_run_directory(c, schema, comm, console);
  if (comm.is_root()) open_run_logs(metrics, c, dir, console);
  install_freeze_schedules(trainer, g, q.config, console);
  console.release();  // everything named is checked: training begins
  const TrainResult r = trainer.fit();
  if (comm.size() > 1 && !q.config.sync_scales) {
    const BufferDrift d = buffer_drift(store, comm, ".scale");
    console.info("qat: quant.sync_scales false: the ranks' quantizer scales differ by up to " +
                 fmt("%.3g%%", 100 * d.relative) +
                 (d.worst.empty() ? std::string() : " (" + d.worst + ")") + " over " +
                 std::to_string(d.buffers) + " scale buffers; rank 0's are exported");
  }

  // Freeze, export (rank 0), and evaluate the int8 graph with qforge's own kernels. Ranks that
  // kept their own state (scales without quant.sync_scales, BN statistics without dist.sync_bn)
  // first take rank 0's, so every rank evaluates the exported model.
  broadcast_model_state(store, comm);
  const EvalResult simulated =
      q.config.align_folded_bias && !r.stopped_early
          ? align_biases(g, store, trainer, r, c, *test_data, dir, comm, console)
          : r.eval;
  const TensorMap state = store.state_dict();
  QuantExports exports;
  if (comm.is_root()) exports = export_models(g, state, dir, console);
  const EvalResult e8 = evaluate_int8(g, state, c, *test_data, *ctx, comm);
  console.info("done: " + std::to_string(r.epochs) + " epoch(s), " + fmt("%.1f", r.images_per_sec) +
               " img/s training; simulated int8 " +
               (simulated.count > 0 ? "top1 " + fmt("%.2f%%", simulated.top1)
                                    : std::string("not evaluated (train.eval_each_epoch false)")) +
               "; converted int8 graph (qforge kernels) top1 " + fmt("%.2f%%", e8.top1));
  if (!c.run.metrics_out.empty() && comm.is_root())
    write_qat_metrics(c.run.metrics_out, r, simulated, e8, exports);
  return 0;
}

}  // namespace qf
