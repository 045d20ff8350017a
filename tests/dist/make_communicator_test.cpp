// Which backend a run gets, and what a launch looks like from Open MPI's environment.
#include "comm/make_communicator.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "comm/mpi_session.h"

namespace qf {
namespace {

// Sets Open MPI's variables for the scope of a test and removes them afterwards.
class FakeLaunch {
 public:
  FakeLaunch(const char* size, const char* rank, const char* local_size, const char* local_rank) {
    setenv("OMPI_COMM_WORLD_SIZE", size, 1);
    setenv("OMPI_COMM_WORLD_RANK", rank, 1);
    setenv("OMPI_COMM_WORLD_LOCAL_SIZE", local_size, 1);
    setenv("OMPI_COMM_WORLD_LOCAL_RANK", local_rank, 1);
  }
  ~FakeLaunch() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK",
                          "OMPI_COMM_WORLD_LOCAL_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"})
      unsetenv(v);
  }
};

TEST(LaunchEnv, PlainProcessAndMpirun) {
  if (std::getenv("OMPI_COMM_WORLD_SIZE")) GTEST_SKIP() << "running under mpirun";
  const LaunchEnv plain = launch_env();
  EXPECT_FALSE(plain.under_mpirun);
  EXPECT_EQ(plain.world_size, 1);
  {
    FakeLaunch f("8", "5", "4", "1");
    const LaunchEnv e = launch_env();
    EXPECT_TRUE(e.under_mpirun);
    EXPECT_EQ(e.world_size, 8);
    EXPECT_EQ(e.world_rank, 5);
    EXPECT_EQ(e.local_size, 4);
    EXPECT_EQ(e.local_rank, 1);
  }
  {
    FakeLaunch f("2", "2", "2", "0");  // rank out of range
    EXPECT_THROW(launch_env(), InputError);
  }
  {
    FakeLaunch f("two", "0", "1", "0");
    EXPECT_THROW(launch_env(), InputError);
  }
}

TEST(ResolveBackend, FollowsTheDeviceUnlessTold) {
  LaunchEnv one;
  LaunchEnv four;
  four.under_mpirun = true;
  four.world_size = 4;
  DistConfig c;
  EXPECT_EQ(resolve_backend(c, Device::cpu(), one), "local");
  EXPECT_EQ(resolve_backend(c, Device::cuda(0), one), "local");
  EXPECT_EQ(resolve_backend(c, Device::cpu(), four), "mpi");
  EXPECT_EQ(resolve_backend(c, Device::cuda(1), four), "nccl");
  c.backend = "nccl";
  EXPECT_EQ(resolve_backend(c, Device::cuda(0), one), "nccl");  // one GPU rank through NCCL
  EXPECT_THROW(resolve_backend(c, Device::cpu(), four), InputError);
  c.backend = "mpi";
  EXPECT_EQ(resolve_backend(c, Device::cpu(), four), "mpi");
  EXPECT_THROW(resolve_backend(c, Device::cuda(0), four), InputError);
  EXPECT_THROW(resolve_backend(c, Device::cpu(), one), InputError);  // not under mpirun
  c.backend = "local";
  EXPECT_EQ(resolve_backend(c, Device::cpu(), one), "local");
  EXPECT_THROW(resolve_backend(c, Device::cpu(), four), InputError);
  c.backend = "gloo";
  try {
    resolve_backend(c, Device::cpu(), four);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("allowed: auto, local, mpi, nccl"), std::string::npos);
  }
}

TEST(MakeCommunicator, OneProcessIsLocalAndNeedsNoMpi) {
  if (std::getenv("OMPI_COMM_WORLD_SIZE")) GTEST_SKIP() << "running under mpirun";
  CpuContext ctx(1);
  auto comm = make_communicator(DistConfig{}, ctx);
  EXPECT_EQ(comm->backend(), "local");
  EXPECT_EQ(comm->size(), 1);
  EXPECT_FALSE(mpi_running());
  DistConfig nccl;
  nccl.backend = "nccl";
  EXPECT_THROW(make_communicator(nccl, ctx), InputError);  // the CPU is no NCCL device
}

}  // namespace
}  // namespace qf
