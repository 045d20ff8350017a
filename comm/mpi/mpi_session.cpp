// MPI initialisation, finalisation and the job-wide abort (contract in comm/mpi_session.h).
#include "comm/mpi_session.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "comm/make_communicator.h"
#include "comm/watchdog.h"
#include "nn/error.h"

namespace qf {
namespace {

// The limit start_mpi was given, for MPI_Finalize too. Process-wide, as MPI itself is.
double g_timeout_s = 0;

// Before MPI_Init_thread has returned (or while MPI_Finalize runs) a rank cannot MPI_Abort; a
// non-zero exit makes mpirun end the job instead.
[[noreturn]] void exit_for_mpirun() {
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(4);
}

}  // namespace

MpiSession::MpiSession() = default;

MpiSession::~MpiSession() {
  if (!mpi_running()) return;
  const LaunchEnv env = launch_env();
  CollectiveWatchdog watchdog(env.world_rank, env.world_size, g_timeout_s, exit_for_mpirun);
  CollectiveWatchdog::Scope wait(watchdog, 0, "MPI_Finalize");
  MPI_Finalize();
}

void start_mpi(double timeout_s) {
  const LaunchEnv env = launch_env();
  if (!env.under_mpirun || mpi_running()) return;
  g_timeout_s = timeout_s;
  int provided = 0;
  {
    CollectiveWatchdog watchdog(env.world_rank, env.world_size, timeout_s, exit_for_mpirun);
    CollectiveWatchdog::Scope wait(watchdog, 0, "MPI start-up (MPI_Init_thread)");
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
      throw InternalError("MPI_Init_thread failed");
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (provided < MPI_THREAD_MULTIPLE)
    throw_input_error("this MPI library offers thread level ", provided,
                      ", qforge needs MPI_THREAD_MULTIPLE (", MPI_THREAD_MULTIPLE,
                      "): gradient sums run on a communication thread");
}

bool mpi_built() {
  return true;
}

bool mpi_running() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

void abort_job(int exit_code) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (mpi_running()) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace qf
