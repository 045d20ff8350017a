// qforge train: builds the model, optionally loads --init weights or --resume's checkpoint, trains
// with the configured schedule, evaluates each epoch, checkpoints into <run>/checkpoint.
// Under `mpirun -np N` every rank runs this; rank 0 alone prints and writes the run directory.

#include "launch/lib/command_table.h"
#include "launch/lib/commands.h"
#include "launch/lib/rank_agreement.h"
#include "launch/lib/setup.h"
#include "nn/ops/batch_norm/batch_norm.h"
#include "trainer/checkpoint_check.h"

namespace qf {

int cmd_train(const Args& args) {
  ConfigSchema schema;
  RunConfig c;
  bind_run_config(schema, c);
  describe_command(schema, "train");
  const Args positional = schema.parse_args(args);
  if (!positional.empty()) throw_input_error("train: unexpected argument '", positional[0], "'");
  Checkpoint resume;
  if (!c.run.resume.empty()) {
    resume = load_checkpoint(c.run.resume);
    adopt_checkpoint_model(schema, resume.config);
  }
  apply_model_form(schema, c);
  schema.validate();
  check_run_outputs(c);

  Console console = Console::for_rank(launch_env().world_rank);
  // Everything the user named is opened and checked before anything is printed or written, so
  // bad input ends with exactly one line.
  const auto train_data = open_dataset(c.data, "train", c.model.num_classes);
  const auto test_data = open_dataset(c.data, "test", c.model.num_classes);
  check_dataset_fits_model(*train_data, c.model);
  check_dataset_fits_model(*test_data, c.model);
  Console quiet(false, false);
  auto ctx = open_device(c.run, quiet);
  const auto comm_ptr = open_communicator(c.dist, *ctx);
  Communicator& comm = *comm_ptr;

  Graph g = build_model(c.model);
  add_classification_loss(g, g.outputs()[0], c.train.label_smoothing);
  const int synced_bn = c.dist.sync_bn && comm.size() > 1 ? mark_sync_batch_norm(g) : 0;
  ParamStore store(g, *ctx, c.train.seed);
  if (!c.run.init.empty() && !c.run.resume.empty())
    throw_input_error("--init and --resume exclude each other (resume continues a run; init starts "
                      "a new one from weights)");
  if (!c.run.init.empty()) load_initial_weights(store, c.run.init, quiet, false);
  if (!c.run.resume.empty()) {
    check_model_matches(store, resume.model, model_file(resume));
    store.load_state_dict(resume.model);
  }
  check_ranks_agree(comm,
                    training_facts("train", schema, store, *train_data, *test_data,
                                   c.run.resume.empty() ? nullptr : &resume.state),
                    c.dist.timeout_s);
  MetricsLog metrics;  // opened with the run folder, once the resume state is checked too
  Trainer trainer(trainer_setup({g, store, *ctx, comm, console, *train_data, test_data.get()}, c,
                                schema, run_directory(c), metrics));
  if (!c.run.resume.empty()) trainer.resume(resume);
  print_resolved_config(c, schema, console);
  console.info("device: " + ctx->device().str() + ", data: " + train_data->describe());
  if (comm.size() > 1) console.info(dist_summary(comm, c.dist, synced_bn));
  const std::string dir = prepare_run_directory(c, schema, comm, console);
  if (comm.is_root()) open_run_logs(metrics, c, dir, console);
  if (!c.run.resume.empty())
    console.info("resume: " + resume.dir + " at epoch " + std::to_string(resume.state.epoch + 1) +
                 ", batch " + std::to_string(resume.state.batch_in_epoch) + ", step " +
                 std::to_string(resume.state.global_step));
  console.release();  // everything named is checked: training begins
  const TrainResult r = trainer.fit();
  char line[256];
  std::snprintf(line, sizeof line, "done: %lld epoch(s), %lld steps, %.1f img/s training; test ",
                static_cast<long long>(r.epochs), static_cast<long long>(r.steps),
                r.images_per_sec);
  console.info(line + eval_figures(r.eval));
  if (!c.run.metrics_out.empty() && comm.is_root())
    write_json_file(c.run.metrics_out, {{"top1", evaluated_figure(r.eval, r.eval.top1)},
                                        {"top5", evaluated_figure(r.eval, r.eval.top5)},
                                        {"loss", r.eval.loss},
                                        {"nonfinite_logits", r.eval.nonfinite},
                                        {"images_per_sec", r.images_per_sec},
                                        {"epochs", r.epochs},
                                        {"steps", r.steps},
                                        {"train_loss", r.train_loss},
                                        {"train_top1", r.train_top1},
                                        {"stopped_early", r.stopped_early}});
  return 0;
}

}  // namespace qf
