// Linked in builds without MPI: one process only; an mpirun launch with several ranks is an
// InputError that says why.
#include <cstdio>
#include <cstdlib>

#include "comm/backends.h"
#include "comm/mpi_session.h"
#include "nn/error.h"

namespace qf {

MpiSession::MpiSession() {
  const LaunchEnv env = launch_env();
  if (env.world_size > 1)
    throw_input_error("mpirun started ", env.world_size,
                      " ranks, but this qforge was built without MPI (install libopenmpi-dev and "
                      "configure with -DQF_WITH_MPI=ON)");
}

MpiSession::~MpiSession() = default;

void start_mpi(double) {}

bool mpi_built() {
  return false;
}

bool mpi_running() {
  return false;
}

void abort_job(int exit_code) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(exit_code);
}

std::unique_ptr<Communicator> make_mpi_communicator(const DistConfig&) {
  throw_input_error("dist.backend mpi: this qforge was built without MPI");
}

}  // namespace qf
