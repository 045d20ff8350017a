// Choosing and creating the communicator of a run.
//
// `qforge ...` runs one process with the local backend and never touches MPI. `mpirun -np N
// qforge ...` (Open MPI) starts N processes; each learns its place from Open MPI's environment
// (OMPI_COMM_WORLD_SIZE / _RANK / _LOCAL_RANK / _LOCAL_SIZE), and make_communicator starts MPI
// (comm/mpi_session.h: start_mpi, within dist.timeout_s) and connects the ranks:
//   dist.backend auto: NCCL when the run's device is a GPU, MPI on the CPU, local for one rank;
//                mpi / nccl / local: that backend (InputError when it cannot serve the device or
//                the number of ranks, or this build lacks it).
// Each rank drives one GPU: the one whose index is its local rank (see local_device_index).
#pragma once

#include <memory>
#include <string>

#include "nn/communicator.h"
#include "nn/context.h"

namespace qf {

struct DistConfig {
  std::string backend = "auto";  // auto | local | mpi | nccl
  double bucket_mb = 4;          // gradient all-reduce bucket size
  bool sync_bn = false;          // batch_norm statistics over all ranks' samples (SyncBatchNorm)
  double timeout_s = 300;        // a collective waiting longer ends the job (MPI backend)
};

// This process's place in an mpirun job, read from Open MPI's environment (no MPI call).
struct LaunchEnv {
  bool under_mpirun = false;  // OMPI_COMM_WORLD_SIZE is set
  int world_size = 1, world_rank = 0;
  int local_size = 1, local_rank = 0;  // ranks on this node, this rank's index among them
};
LaunchEnv launch_env();

// The backend dist.backend resolves to for `device` and this launch ("local", "mpi", "nccl").
std::string resolve_backend(const DistConfig& cfg, const Device& device, const LaunchEnv& env);

// The communicator for this process; under mpirun it starts MPI first (start_mpi with
// cfg.timeout_s; main() holds the MpiSession that finalises it). The NCCL backend runs its
// collectives on ctx's stream.
std::unique_ptr<Communicator> make_communicator(const DistConfig& cfg, DeviceContext& ctx);

}  // namespace qf
