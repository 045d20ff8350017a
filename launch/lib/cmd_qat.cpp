// qforge qat: quant-aware training (PaddleSlim's quant_aware + convert, quant/quant_aware.h).
//
//   qforge qat --config configs/fashion_mnist/mobilenet_v1_qat.ini --init <fp32 checkpoint>
//
// Builds the model, rewrites it with the quant_aware pass ([quant] section), loads the FP32 weights
// (quantizer state starts fresh) or --resume's QAT checkpoint, fine-tunes while evaluating the
// simulated-int8 model after every epoch, and at the end writes the checkpoint (quantizer state
// included) and both converted models: <run>/model_float_grid.onnx (weights on the int8 grid,
// simulated in float) and <run>/model_int8.onnx (int8 QDQ). The int8 graph is also evaluated with
// qforge's own kernels, as a check that conversion kept what training simulated.
#include <filesystem>

#include "io/atomic_file.h"
#include "launch/lib/commands.h"
#include "launch/lib/quant_setup.h"
#include "launch/lib/setup.h"
#include "trainer/evaluator.h"

namespace qf {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

int cmd_qat(const Args& args) {
  ConfigSchema schema;
  RunConfig c;
  QuantConfig q;
  bind_run_config(schema, c);
  bind_quant_config(schema, q);
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("qat: unexpected argument '", positional[0], "'");
  if (c.run.init.empty() == c.run.resume.empty())
    throw_input_error("qat: give the weights to start from with --init CHECKPOINT (FP32 or QAT), "
                      "or --resume CHECKPOINT to continue a QAT run (exactly one of them)");
  const std::string from = c.run.init.empty() ? c.run.resume : c.run.init;
  const Checkpoint ck = load_checkpoint(from);
  adopt_checkpoint_model(schema, ck.config);
  if (is_quant_checkpoint(ck)) adopt_checkpoint_quant(schema, ck.config);
  apply_model_form(schema, c);
  schema.validate();

  LocalCommunicator comm;
  Console console = Console::for_rank(comm.rank());
  console.info("qforge qat: resolved configuration\n" + schema.to_ini());
  auto ctx = open_device(c.run, console);
  const auto train_data = open_dataset(c.data, "train", c.model.num_classes);
  const auto test_data = open_dataset(c.data, "test", c.model.num_classes);

  Graph g = build_model(c.model);
  add_classification_loss(g, g.outputs()[0], c.train.label_smoothing);
  const QuantAwareReport rep = quant_aware(g, q);
  console.info("quant_aware: " + std::to_string(rep.quantized.size()) + " ops quantized (" +
               std::to_string(rep.weight_quantizers) + " weight, " +
               std::to_string(rep.activation_quantizers) + " activation quantizers, " +
               std::to_string(rep.observers) + " output observers, " + std::to_string(rep.pacts) +
               " PACT clips, " + std::to_string(rep.folded_bn) + " BN folded), " +
               std::to_string(rep.skipped.size()) + " skipped by not_quant_pattern");
  ParamStore store(g, *ctx, c.train.seed);
  load_quant_weights(store, ck, from, rep, !c.run.init.empty(), console);

  const std::string dir = run_directory(c);
  std::filesystem::create_directories(dir);
  write_text_file_atomically(dir + "/config.ini", schema.to_ini());
  MetricsLog metrics(dir + "/metrics.jsonl");

  TrainerSetup setup{g, store, *ctx, comm, console, *train_data, test_data.get()};
  setup.train = c.train;
  setup.train.eval_batch_size = c.data.eval_batch_size;
  setup.optimizer = c.optimizer;
  setup.schedule = c.schedule;
  setup.loader.batch_size = c.data.batch_size;
  setup.loader.workers = c.data.workers;
  setup.loader.prefetch = c.data.prefetch;
  setup.loader.drop_last = true;
  setup.metrics = &metrics;
  setup.checkpoint_dir = dir + "/checkpoint";
  setup.config_json = schema.to_json();
  setup.phase = "qat";
  Trainer trainer(setup);
  if (!c.run.resume.empty()) trainer.resume(ck);
  bool bn_frozen = false, scales_frozen = false;
  trainer.on_epoch_start([&](int64_t epoch) {
    bool changed = false;
    if (q.freeze_bn_after_epoch >= 0 && epoch >= q.freeze_bn_after_epoch && !bn_frozen) {
      console.info("qat: BatchNorm statistics frozen from epoch " + std::to_string(epoch + 1) +
                   " (" + std::to_string(freeze_batch_norm(g)) + " layers)");
      bn_frozen = changed = true;
    }
    if (q.freeze_scales_after_epoch >= 0 && epoch >= q.freeze_scales_after_epoch &&
        !scales_frozen) {
      console.info("qat: activation scales frozen from epoch " + std::to_string(epoch + 1) + " (" +
                   std::to_string(freeze_activation_scales(g)) + " quantizers)");
      scales_frozen = changed = true;
    }
    if (changed) trainer.rebuild();
  });
  const TrainResult r = trainer.fit();

  // Freeze, export, and evaluate the int8 graph with qforge's own kernels.
  const TensorMap state = store.state_dict();
  const QuantExports ex = write_quant_exports(g, state, dir + "/model");
  console.info("convert: " + std::to_string(ex.int8_report.weights) + " int8 weights, " +
               std::to_string(ex.int8_report.activation_pairs) + " activation Q/DQ pairs, " +
               std::to_string(ex.int8_report.output_pairs) + " conv-output pairs, " +
               std::to_string(ex.int8_report.folded_bn) + " BN folded -> " + ex.int8_path + " (" +
               fmt("%.2f", ex.int8_bytes / 1e6) + " MB), " + ex.float_grid_path + " (" +
               fmt("%.2f", ex.float_grid_bytes / 1e6) + " MB)");
  Graph int8 = convert(g, state, ConvertForm::int8);
  add_classification_loss(int8, int8.outputs()[0], c.train.label_smoothing);
  ParamStore int8_store(int8, *ctx, 0);
  LoaderOptions lo;
  lo.batch_size = c.data.eval_batch_size;
  lo.workers = c.data.workers;
  lo.prefetch = c.data.prefetch;
  const EvalResult e8 = Evaluator(int8, int8_store, *ctx, comm).run(*test_data, lo);
  console.info("done: " + std::to_string(r.epochs) + " epoch(s), " +
               fmt("%.1f", r.images_per_sec) + " img/s training; simulated int8 top1 " +
               fmt("%.2f%%", r.eval.top1) + "; converted int8 graph (qforge kernels) top1 " +
               fmt("%.2f%%", e8.top1));
  if (!c.run.metrics_out.empty() && comm.is_root())
    write_json_file(c.run.metrics_out, {{"top1", r.eval.top1},
                                        {"top5", r.eval.top5},
                                        {"loss", r.eval.loss},
                                        {"int8_graph_top1", e8.top1},
                                        {"images_per_sec", r.images_per_sec},
                                        {"epochs", r.epochs},
                                        {"steps", r.steps},
                                        {"train_loss", r.train_loss},
                                        {"train_top1", r.train_top1},
                                        {"int8_onnx", ex.int8_path},
                                        {"int8_onnx_bytes", ex.int8_bytes},
                                        {"float_grid_onnx", ex.float_grid_path},
                                        {"float_grid_onnx_bytes", ex.float_grid_bytes}});
  return 0;
}

}  // namespace qf
