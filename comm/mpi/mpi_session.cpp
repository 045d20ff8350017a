// MPI initialisation and the job-wide abort (contract in comm/mpi_session.h).
#include "comm/mpi_session.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "comm/make_communicator.h"
#include "nn/error.h"

namespace qf {

MpiSession::MpiSession() {
  if (!launch_env().under_mpirun) return;
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
    throw InternalError("MPI_Init_thread failed");
  initialised_ = true;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (provided < MPI_THREAD_MULTIPLE)
    throw_input_error("this MPI library offers thread level ", provided,
                      ", qforge needs MPI_THREAD_MULTIPLE (", MPI_THREAD_MULTIPLE,
                      "): gradient sums run on a communication thread");
}

MpiSession::~MpiSession() {
  if (initialised_ && mpi_running()) MPI_Finalize();
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
