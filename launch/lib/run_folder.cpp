// The run folder (contract in launch/lib/run_folder.h).
#include "launch/lib/run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>

#include "comm/make_communicator.h"
#include "io/atomic_file.h"
#include "launch/lib/output_paths.h"
#include "trainer/tensorboard_writer.h"
#include "trainer/training_report.h"

namespace qf {
namespace {

[[noreturn]] void throw_in_use(const std::string& dir) {
  throw_input_error("run.out '", dir, "' is in use by another qforge run (two runs cannot share a ",
                    "run folder; give this one another --out)");
}

// Refuses a folder that another process holds (see lock_for_this_process) without taking it: the
// early check, before the run's inputs are read.
void check_not_in_use(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // not there yet, or not a folder: check_output_folder says
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // drops the probe's lock
  if (held) throw_in_use(dir);
}

// Holds an exclusive flock on `dir` until the process ends (the descriptor is never closed on
// purpose: the lock must outlive every write of the run, and the kernel drops it at exit, however
// the process ends). Locking the folder itself writes nothing into it.
void lock_for_this_process(const std::string& dir) {
  static std::mutex mu;
  static std::set<std::string> held;  // canonical paths this process holds already
  std::error_code ec;
  const std::string key = std::filesystem::canonical(dir, ec).string();
  std::lock_guard<std::mutex> lock(mu);
  if (held.count(key)) return;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw_input_error("run.out '", dir, "': cannot open the folder: ", std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) throw_in_use(dir);
    throw_input_error("run.out '", dir, "': cannot lock the folder: ", std::strerror(err));
  }
  held.insert(key);
}

}  // namespace

std::string run_directory(const RunConfig& c) {
  return c.run.out.empty() ? "runs/" + c.model.name : c.run.out;
}

void check_run_outputs(const RunConfig& c, const std::vector<std::string>& exports) {
  if (launch_env().world_rank != 0) return;
  const std::string dir = run_directory(c);
  check_output_folder(dir, "run.out");
  check_not_in_use(dir);
  check_output_file(dir + "/config.ini", "run.out");
  check_output_file(dir + "/metrics.jsonl", "run.out");
  check_output_file(dir + "/report.html", "run.out");
  check_output_folder(dir + "/checkpoint", "run.out");
  for (const std::string& name : exports) check_output_file(dir + "/" + name, "run.out");
  if (!c.run.metrics_out.empty()) check_output_file(c.run.metrics_out, "run.metrics_out");
  if (!c.log.tensorboard.empty()) check_output_folder(c.log.tensorboard, "log.tensorboard");
}

std::string prepare_run_directory(const RunConfig& c, const ConfigSchema& schema,
                                  const Communicator& comm, Console& console) {
  const std::string dir = run_directory(c);
  if (comm.is_root()) {
    create_output_folder(dir, "run.out");
    lock_for_this_process(dir);
    for (const std::string& note : recover_dir_writes(dir + "/checkpoint"))
      console.info("checkpoint: " + note);
    write_text_file_atomically(dir + "/config.ini", schema.to_ini());
  }
  return dir;
}

void open_run_logs(MetricsLog& metrics, const RunConfig& c, const std::string& dir,
                   Console& console) {
  metrics.open(dir + "/metrics.jsonl");
  metrics.add_sink(std::make_unique<TrainingReport>(dir + "/metrics.jsonl", dir + "/report.html",
                                                    "Training report: " + dir, console));
  if (!c.log.tensorboard.empty()) {
    auto tb = std::make_unique<TensorBoardScalars>(c.log.tensorboard);
    console.info("log: TensorBoard scalars -> " + tb->path());
    metrics.add_sink(std::move(tb));
  }
}

}  // namespace qf
