// make_communicator: which backend a run uses (rules in comm/make_communicator.h).
#include "comm/make_communicator.h"

#include <cstdlib>
#include <string>

#include "comm/backends.h"
#include "comm/mpi_session.h"
#include "nn/error.h"

namespace qf {
namespace {

// An Open MPI environment variable as a non-negative integer; `dflt` when unset.
int env_int(const char* name, int dflt) {
  const char* v = std::getenv(name);
  if (!v || !*v) return dflt;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < 0 || x > (1 << 24))
    throw_input_error("environment variable ", name, "='", v,
                      "' is not a rank count or index (is this really an mpirun launch?)");
  return static_cast<int>(x);
}

}  // namespace

LaunchEnv launch_env() {
  LaunchEnv e;
  e.under_mpirun = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr;
  if (!e.under_mpirun) return e;
  e.world_size = env_int("OMPI_COMM_WORLD_SIZE", 1);
  e.world_rank = env_int("OMPI_COMM_WORLD_RANK", 0);
  e.local_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1);
  e.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", 0);
  if (e.world_size < 1 || e.world_rank >= e.world_size || e.local_rank >= e.local_size)
    throw_input_error("inconsistent Open MPI environment: rank ", e.world_rank, " of ",
                      e.world_size, ", local rank ", e.local_rank, " of ", e.local_size);
  return e;
}

std::string resolve_backend(const DistConfig& cfg, const Device& device, const LaunchEnv& env) {
  const std::string& b = cfg.backend;
  if (b == "auto") {
    if (env.world_size == 1) return "local";
    return device.is_cuda() ? "nccl" : "mpi";
  }
  if (b == "local") {
    if (env.world_size > 1)
      throw_input_error("dist.backend local serves one process, but mpirun started ",
                        env.world_size, " ranks (allowed here: auto, mpi, nccl)");
    return b;
  }
  if (b == "mpi") {
    if (!device.is_cpu())
      throw_input_error("dist.backend mpi reduces host memory; the device is ", device.str(),
                        " (use dist.backend nccl or auto, or run.device cpu)");
    if (!env.under_mpirun)
      throw_input_error(
          "dist.backend mpi: this process was not started by mpirun "
          "(run `mpirun -np N qforge ...`, or use dist.backend auto)");
    return b;
  }
  if (b == "nccl") {
    if (!device.is_cuda())
      throw_input_error("dist.backend nccl needs a GPU device; the device is ", device.str(),
                        " (use dist.backend mpi or auto on the CPU)");
    return b;
  }
  throw_input_error("dist.backend: '", b, "' is not allowed (allowed: auto, local, mpi, nccl)");
}

std::unique_ptr<Communicator> make_communicator(const DistConfig& cfg, DeviceContext& ctx) {
  const LaunchEnv env = launch_env();
  const std::string backend = resolve_backend(cfg, ctx.device(), env);
  if (backend == "local") return std::make_unique<LocalCommunicator>();
  if (backend == "mpi") {
    if (!mpi_built())
      throw_input_error(
          "dist.backend mpi: this qforge was built without MPI (install Open MPI, "
          "libopenmpi-dev, and configure with -DQF_WITH_MPI=ON)");
    start_mpi(cfg.timeout_s);
    QF_CHECK(mpi_running(), "MPI did not start");
    return make_mpi_communicator(cfg);
  }
  if (!nccl_built())
    throw_input_error(
        "dist.backend nccl: this qforge was built without NCCL (needs the CUDA "
        "backend, NCCL under /usr/local/cuda and MPI)");
  if (env.world_size > 1) start_mpi(cfg.timeout_s);
  QF_CHECK(env.world_size == 1 || mpi_running(), "MPI did not start");
  return make_nccl_communicator(cfg, ctx, env);
}

}  // namespace qf
