// The qforge command: `qforge <command> [--config FILE.ini] [--section.key value ...]`,
// `qforge help [<command>]`, `qforge --version`.
// Bad input ends with one line on stderr and exit code 2; nothing half-written is left behind
// (every output file is written to a temporary name and renamed).
//
// Under `mpirun -np N qforge ...` every rank runs the command; MPI starts when the command makes
// its communicator (once the configuration is read, so the start-up wait is bounded by
// dist.timeout_s) and ends with the MpiSession held here. A rank that fails prints its message
// with its rank and ends the whole job (abort_job → MPI_Abort, or a non-zero exit before MPI runs,
// so mpirun stops the other ranks) instead of leaving them waiting in a collective.
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "comm/make_communicator.h"
#include "comm/mpi_session.h"
#include "launch/lib/builtin_ops.h"
#include "launch/lib/command_table.h"
#include "launch/lib/help.h"
#include "launch/lib/suggest.h"
#include "nn/error.h"
#include "nn/omp_wait.h"

namespace {

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

int unknown_command(const std::string& name) {
  std::string allowed;
  for (const std::string& c : qf::command_names()) allowed += (allowed.empty() ? "" : ", ") + c;
  std::fprintf(stderr,
               "qforge: error: unknown command '%s'%s (commands: %s; `qforge help` says more)\n",
               qf::printable_line(name).c_str(), qf::did_you_mean(name, qf::command_names()).c_str(),
               allowed.c_str());
  return 2;
}

int run(const qf::CommandSpec& c, const qf::Args& args) {
  std::unique_ptr<qf::MpiSession> mpi;
  try {
    mpi = std::make_unique<qf::MpiSession>();
    return c.run(args);
  } catch (const qf::InputError& e) {
    std::fprintf(stderr, "qforge %s: error%s: %s\n", c.name.c_str(), rank_tag().c_str(),
                 qf::printable_line(e.what()).c_str());
    return fail(2);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qforge %s: internal error%s: %s\n", c.name.c_str(), rank_tag().c_str(),
                 qf::printable_line(e.what()).c_str());
    return fail(3);
  }
}

// `qforge help [<command>]`.
int help(const qf::Args& args) {
  if (args.empty()) {
    std::fputs(qf::general_help().c_str(), stdout);
    return 0;
  }
  const qf::CommandSpec* spec = qf::find_command(args[0]);
  if (!spec || args.size() > 1) {
    if (spec) {
      std::fprintf(stderr, "qforge help: error: one command at a time ('%s' is extra)\n",
                   qf::printable_line(args[1]).c_str());
      return 2;
    }
    return unknown_command(args[0]);
  }
  return run(*spec, {"--help"});  // prints the page and exits 0
}

}  // namespace

int main(int argc, char** argv) {
  qf::use_short_omp_spin(argv);  // may re-execute with GOMP_SPINCOUNT set (nn/omp_wait.h)
  qf::install_builtin_ops();
  if (argc < 2) {
    std::fprintf(stderr, "qforge: error: no command given (`qforge help` lists the commands)\n");
    return 2;
  }
  const std::string name = argv[1];
  const qf::Args args(argv + 2, argv + argc);
  if (name == "--help" || name == "-h") return help({});
  if (name == "help") return help(args);
  if (name == "--version" || name == "-V") {
    std::fputs(qf::version_text(qf::build_info()).c_str(), stdout);
    return 0;
  }
  if (const qf::CommandSpec* c = qf::find_command(name)) return run(*c, args);
  if (name.rfind("-", 0) == 0) {
    std::fprintf(stderr,
                 "qforge: error: unknown option '%s' before the command%s (usage: qforge "
                 "<command> [options]; `qforge help` lists the commands)\n",
                 qf::printable_line(name).c_str(),
                 qf::did_you_mean(name, {"--help", "--version"}).c_str());
    return 2;
  }
  return unknown_command(name);
}
