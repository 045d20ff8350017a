// The run folder of a training command (train, qat): where it is, what is checked before the run
// reads any input, and how it is made ready once every input is validated.
//
//   <run>/config.ini       the resolved configuration
//   <run>/metrics.jsonl    one JSON object per log point (appended across resumes)
//   <run>/report.html      training curves drawn from metrics.jsonl (trainer/training_report.h)
//   <run>/checkpoint/      the latest checkpoint (trainer/checkpoint.h), written atomically
//   <run>/<exports>        what the command exports (qat: model_int8.onnx, model_float_grid.onnx)
//
// With --log.tensorboard DIR the same metrics also go to TensorBoard event files in DIR
// (trainer/tensorboard_writer.h).
//
// Order (so a run that fails to start leaves nothing behind): check_run_outputs before anything is
// read; prepare_run_directory only after the configuration, the checkpoint, the datasets and the
// model are validated. Only the root rank writes, so only it checks and prepares.
#pragma once

#include <string>
#include <vector>

#include "launch/lib/config_schema.h"
#include "launch/lib/run_config.h"
#include "nn/communicator.h"
#include "trainer/console.h"
#include "trainer/metrics.h"

namespace qf {

// run.out, or runs/<model name> by default.
std::string run_directory(const RunConfig& c);

// Checks (launch/lib/output_paths.h) the run folder, its config.ini, metrics.jsonl and checkpoint/,
// the files named in `exports` (inside the run folder) and run.metrics_out, and that no other
// qforge holds the folder. Rank 0 only (the one that writes); a no-op on other ranks.
void check_run_outputs(const RunConfig& c, const std::vector<std::string>& exports = {});

// On the root rank: creates run_directory(c), takes it for this process (a second qforge writing
// into the same folder at the same time is an InputError; the lock ends with the process), clears
// what interrupted checkpoint writes left there (io/atomic_file.h: recover_dir_writes, whatever
// their pid; each change is said on the console), and writes config.ini. Returns the folder.
std::string prepare_run_directory(const RunConfig& c, const ConfigSchema& schema,
                                  const Communicator& comm, Console& console);

// On the root rank, once the folder is prepared: opens <dir>/metrics.jsonl, the report and the
// log.tensorboard event file as `metrics`' outputs.
void open_run_logs(MetricsLog& metrics, const RunConfig& c, const std::string& dir,
                   Console& console);

}  // namespace qf
