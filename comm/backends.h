// Backend constructors behind make_communicator. Each lives in its own source set, compiled only
// when its library is found (comm/mpi/, comm/nccl/); builds without one link comm/stub/, whose
// constructor throws an InputError that says what is missing.
#pragma once

#include <memory>

#include "comm/make_communicator.h"

namespace qf {

// Over MPI_COMM_WORLD (MPI must be running), host buffers.
std::unique_ptr<Communicator> make_mpi_communicator(const DistConfig& cfg);
bool nccl_built();
// One NCCL rank per process on ctx's GPU; the unique id travels over MPI when there are several.
std::unique_ptr<Communicator> make_nccl_communicator(const DistConfig& cfg, DeviceContext& ctx,
                                                     const LaunchEnv& env);

}  // namespace qf
