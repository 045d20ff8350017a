// qforge eval: evaluates a checkpoint on the test split (the model is rebuilt from the
// checkpoint's saved configuration). Under mpirun the ranks split the test set and sum counts.
#include "launch/lib/commands.h"
#include "launch/lib/setup.h"
#include "data/distributed_sampler.h"
#include "trainer/evaluator.h"

namespace qf {

int cmd_eval(const Args& args) {
  ConfigSchema schema;
  RunConfig c;
  bind_run_config(schema, c);
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("eval: unexpected argument '", positional[0], "'");
  if (c.run.init.empty())
    throw_input_error("eval: say what to evaluate with --init CHECKPOINT (a checkpoint directory "
                      "or .safetensors file)");
  const Checkpoint ck = load_checkpoint(c.run.init);
  adopt_checkpoint_model(schema, ck.config);
  apply_model_form(schema, c);
  schema.validate();

  Console console = Console::for_rank(launch_env().world_rank);
  auto ctx = open_device(c.run, console);
  const auto comm_ptr = open_communicator(c.dist, *ctx);
  Communicator& comm = *comm_ptr;
  const auto test_data = open_dataset(c.data, "test", c.model.num_classes);
  check_dataset_fits_model(*test_data, c.model);
  Graph g = build_model(c.model);
  add_classification_loss(g, g.outputs()[0], c.train.label_smoothing);
  ParamStore store(g, *ctx, c.train.seed);
  load_initial_weights(store, c.run.init, console, false);

  LoaderOptions lo;
  lo.batch_size = c.data.eval_batch_size;
  lo.workers = c.data.workers;
  lo.prefetch = c.data.prefetch;
  Evaluator evaluator(g, store, *ctx, comm);
  const DistributedSampler shard(test_data->size(), false, 0, comm.rank(), comm.size(),
                                 ShardTail::uneven);
  const EvalResult r = evaluator.run(*test_data, shard, lo);
  char line[256];
  std::snprintf(line, sizeof line, "eval %s: top1 %.2f%% top5 %.2f%% loss %.4f (%lld images, %.1f img/s)",
                c.run.init.c_str(), r.top1, r.top5, r.loss, static_cast<long long>(r.count),
                r.images_per_sec);
  console.info(line);
  if (!c.run.metrics_out.empty() && comm.is_root())
    write_json_file(c.run.metrics_out, {{"top1", r.top1},
                                        {"top5", r.top5},
                                        {"loss", r.loss},
                                        {"images_per_sec", r.images_per_sec},
                                        {"count", r.count}});
  return 0;
}

}  // namespace qf
