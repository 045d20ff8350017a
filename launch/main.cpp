// The qforge command: `qforge <command> [--config FILE.ini] [--section.key value ...]`.
// Bad input ends with one line on stderr and exit code 2; nothing half-written is left behind
// (every output file is written to a temporary name and renamed).
//
// Under `mpirun -np N qforge ...` MPI is initialised here (MpiSession) and every rank runs the
// command. A rank that fails prints its message with its rank and ends the whole job
// (abort_job → MPI_Abort, so mpirun stops the other ranks) instead of leaving them waiting in a
// collective.
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "comm/make_communicator.h"
#include "comm/mpi_session.h"
#include "launch/lib/builtin_ops.h"
#include "launch/lib/commands.h"
#include "nn/error.h"

namespace {

struct Command {
  const char* name;
  int (*run)(const qf::Args&);
  const char* help;
};

const Command kCommands[] = {
    {"train", qf::cmd_train, "train a model (FP32) and evaluate it each epoch"},
    {"eval", qf::cmd_eval, "evaluate a checkpoint or an ONNX model (int8 engine) on the test set"},
    {"summary", qf::cmd_summary, "per-layer shapes, parameters and multiply-adds of a model"},
    {"qat", qf::cmd_qat, "quant-aware training from FP32 weights, then int8 ONNX export"},
    {"export", qf::cmd_export, "write a checkpoint (FP32 or QAT) as an ONNX model"},
    {"ptq", qf::cmd_ptq, "static post-training quantization to a QDQ int8 ONNX model"},
    {"ptq-dynamic", qf::cmd_ptq_dynamic, "weight-only int8 / int16 quantization to ONNX"},
    {"bench", qf::cmd_bench, "inference img/s and peak memory of a model (ONNX or checkpoint)"},
    {"infer", qf::cmd_infer, "run a model (ONNX or checkpoint) on raw float32 tensors"},
};

void usage(FILE* out) {
  std::fprintf(out, "usage: qforge <command> [--config FILE.ini] [--section.key value ...]\n\n");
  std::fprintf(out, "commands:\n");
  for (const Command& c : kCommands) std::fprintf(out, "  %-12s %s\n", c.name, c.help);
  std::fprintf(out, "\nEvery key of a config file can be given on the command line, e.g. "
                    "--optimizer.lr 0.01.\n`qforge <command> --help` lists the keys.\n");
}

// " (rank R of N)" under mpirun with several ranks, else "".
std::string rank_tag() {
  try {
    const qf::LaunchEnv env = qf::launch_env();
    if (env.world_size > 1)
      return " (rank " + std::to_string(env.world_rank) + " of " + std::to_string(env.world_size) +
             ")";
  } catch (const std::exception&) {
  }
  return "";
}

// After a failure: one process returns the code; a rank of a job ends the whole job.
int fail(int code) {
  if (!rank_tag().empty()) qf::abort_job(code);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  qf::install_builtin_ops();
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  qf::Args args(argv + 2, argv + argc);
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    std::unique_ptr<qf::MpiSession> mpi;
    try {
      mpi = std::make_unique<qf::MpiSession>();
      return c.run(args);
    } catch (const qf::InputError& e) {
      std::fprintf(stderr, "qforge %s: error%s: %s\n", c.name, rank_tag().c_str(), e.what());
      return fail(2);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "qforge %s: internal error%s: %s\n", c.name, rank_tag().c_str(),
                   e.what());
      return fail(3);
    }
  }
  std::fprintf(stderr, "qforge: error: unknown command '%s' (allowed: train, eval, summary, qat, export, ptq, ptq-dynamic, bench, infer)\n",
               name.c_str());
  return 2;
}
