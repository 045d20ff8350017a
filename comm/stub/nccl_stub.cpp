// Linked in builds without NCCL (no CUDA backend, no NCCL under /usr/local/cuda, or no MPI).
#include "comm/backends.h"
#include "nn/error.h"

namespace qf {

bool nccl_built() {
  return false;
}

std::unique_ptr<Communicator> make_nccl_communicator(const DistConfig&, DeviceContext&,
                                                     const LaunchEnv&) {
  throw_input_error(
      "dist.backend nccl: this qforge was built without NCCL (it needs the CUDA "
      "backend, NCCL under /usr/local/cuda and MPI)");
}

}  // namespace qf
