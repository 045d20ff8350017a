// qforge eval: evaluates a model on the test split — a checkpoint (--init; the model is rebuilt
// from the checkpoint's saved configuration; a `qforge qat` checkpoint is rebuilt with its
// quant_aware pass, so the simulated int8 model is what gets evaluated), FP32 weights (--init
// FILE.safetensors or FILE.onnx with --model NAME), or an ONNX model (--model FILE.onnx, FP32 or
// QDQ int8). QDQ models run on the int8 engine (quant/int8_lowering.h: int8 convolutions and
// matmuls, int32 accumulation) unless --int8 false. Under mpirun the ranks split the test set of
// a checkpoint evaluation and sum counts. FP32 models go through the inference pipeline
// (launch/lib/inference.h: BatchNorm folded, activations and residual adds fused; --fuse false).
#include <optional>

#include "data/distributed_sampler.h"
#include "launch/lib/command_table.h"
#include "launch/lib/commands.h"
#include "launch/lib/inference.h"
#include "launch/lib/model_source.h"
#include "launch/lib/onnx_weights.h"
#include "launch/lib/quant_setup.h"
#include "launch/lib/rank_agreement.h"
#include "launch/lib/setup.h"
#include "trainer/evaluator.h"

namespace qf {
namespace {

void report(const RunConfig& c, const std::string& what, const EvalResult& r, Console& console,
            bool root) {
  char tail[96];
  std::snprintf(tail, sizeof tail, " (%lld images, %.1f img/s)", static_cast<long long>(r.count),
                r.images_per_sec);
  console.info("eval " + what + ": " + eval_figures(r) + tail);
  if (!c.run.metrics_out.empty() && root)  // a non-finite loss is written as null
    write_json_file(c.run.metrics_out, {{"top1", r.top1},
                                        {"top5", r.top5},
                                        {"loss", r.loss},
                                        {"images_per_sec", r.images_per_sec},
                                        {"count", r.count},
                                        {"nonfinite_logits", r.nonfinite}});
}

// An ONNX file: imported, lowered to int8 kernels when quantized, evaluated.
int eval_onnx(const std::string& file, ConfigSchema& schema, RunConfig& c, const InferenceOptions& io) {
  LocalCommunicator comm;
  Console console = Console::for_rank(comm.rank());
  LoadedModel m = load_model("eval", file, schema, c, console);
  auto ctx = open_device(c.run, console);
  const auto test_data = open_dataset(c.data, "test", m.num_classes);
  check_data_fits(*test_data, m.sample_shape, file);
  prepare_inference_graph(m.graph, io, *ctx, console);
  add_classification_loss(m.graph, m.graph.outputs()[0], c.train.label_smoothing);
  ParamStore store(m.graph, *ctx, 0);
  LoaderOptions lo;
  lo.batch_size = c.data.eval_batch_size;
  lo.workers = c.data.workers;
  lo.prefetch = c.data.prefetch;
  Evaluator evaluator(m.graph, store, *ctx, comm);
  console.release();  // everything named is checked: evaluation begins
  report(c, file, evaluator.run(*test_data, lo), console, true);
  return 0;
}

}  // namespace

int cmd_eval(const Args& in_args) {
  Args args = in_args;
  const std::string model_file = take_model_file(args);
  ConfigSchema schema;
  RunConfig c;
  QuantSection q;
  InferenceOptions io;
  bind_run_config(schema, c);
  bind_quant_config(schema, q);
  bind_inference_options(schema, io);
  describe_command(schema, "eval");
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("eval: unexpected argument '", positional[0], "'");
  if (!c.run.metrics_out.empty() && launch_env().world_rank == 0)  // rank 0 writes
    check_output_file(c.run.metrics_out, "run.metrics_out");
  if (!model_file.empty()) return eval_onnx(model_file, schema, c, io);
  if (c.run.init.empty())
    throw_input_error(
        "eval: say what to evaluate with --model FILE.onnx or --init CHECKPOINT (a checkpoint "
        "directory, .safetensors or FP32 .onnx file)");
  std::optional<Checkpoint> ck;  // an ONNX file's weights come without a configuration
  if (!is_onnx_path(c.run.init)) {
    ck = load_checkpoint(c.run.init);
    adopt_checkpoint_model(schema, ck->config);
  }
  const bool quantized = ck && is_quant_checkpoint(*ck);
  if (quantized) adopt_checkpoint_quant(schema, ck->config);
  apply_model_form(schema, c);
  schema.validate();

  Console console = Console::for_rank(launch_env().world_rank);
  auto ctx = open_device(c.run, console);
  const auto comm_ptr = open_communicator(c.dist, *ctx);
  Communicator& comm = *comm_ptr;
  const auto test_data = open_dataset(c.data, "test", c.model.num_classes);
  check_dataset_fits_model(*test_data, c.model);
  Graph g = build_model(c.model);
  if (!quantized) {  // FP32: the weights baked into the graph, then the inference pipeline
    ParamStore loaded(g, *ctx, c.train.seed);
    load_initial_weights(loaded, c.run.init, console, false);
    bake_weights(g, loaded.state_dict(), "--init " + c.run.init);
    prepare_inference_graph(g, io, *ctx, console);
  }
  add_classification_loss(g, g.outputs()[0], c.train.label_smoothing);
  QuantAwareReport rep;
  if (quantized) rep = quant_aware(g, q.config);
  ParamStore store(g, *ctx, c.train.seed);  // FP32: initialised from the baked weights
  if (quantized) load_quant_weights(store, *ck, c.run.init, rep, false, console);

  LoaderOptions lo;
  lo.batch_size = c.data.eval_batch_size;
  lo.workers = c.data.workers;
  lo.prefetch = c.data.prefetch;
  RunFacts facts;
  facts.add_config("eval", schema);
  facts.add_model(store);
  facts.add_data("test set", *test_data);
  check_ranks_agree(comm, facts, c.dist.timeout_s);
  Evaluator evaluator(g, store, *ctx, comm);
  const DistributedSampler shard(test_data->size(), false, 0, comm.rank(), comm.size(),
                                 ShardTail::uneven);
  console.release();
  report(c, c.run.init, evaluator.run(*test_data, shard, lo), console, comm.is_root());
  return 0;
}

}  // namespace qf
