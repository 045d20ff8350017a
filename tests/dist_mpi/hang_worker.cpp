// A two-rank job in which rank 1 stops (SIGSTOP: alive, but never answers) at a chosen moment
// while rank 0 goes on: whatever the moment, rank 0 must end the job after dist.timeout_s
// (argv[1]) with a message naming its rank and what it waited in (hung_rank_test.sh checks the
// time, the message and that no process is left). argv[2], the moment rank 1 stops:
//   collective  after the first all-reduce (rank 0 waits in the second)   [default]
//   startup     before MPI starts (rank 0 waits in MPI_Init_thread)
//   exit        rank 1 ends with exit code 0 before MPI starts (mpirun itself would wait)
//   setup       after MPI started, before the communicator exists (rank 0: MPI_Comm_dup)
//   finalize    after the last collective (rank 0 waits in MPI_Finalize)
// Instead of stopping, rank 1 sleeps in "collective" when argv[3] is "sleep" (a hang in user code).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "comm/make_communicator.h"
#include "comm/mpi_session.h"

namespace {

void stop_if(bool cond, const char* where) {
  if (!cond) return;
  std::printf("rank 1: stopping %s\n", where);
  std::fflush(stdout);
  ::raise(SIGSTOP);
}

}  // namespace

int main(int argc, char** argv) {
  qf::MpiSession session;
  qf::DistConfig cfg;
  cfg.timeout_s = argc > 1 ? std::atof(argv[1]) : 3;
  const std::string mode = argc > 2 ? argv[2] : "collective";
  const bool sleep_instead = argc > 3 && !std::strcmp(argv[3], "sleep");
  const bool rank1 = qf::launch_env().world_rank == 1;
  if (rank1 && mode == "exit") std::_Exit(0);
  stop_if(rank1 && mode == "startup", "before MPI starts");
  qf::start_mpi(cfg.timeout_s);
  stop_if(rank1 && mode == "setup", "before the communicator is made");
  qf::CpuContext ctx(1);
  auto comm = qf::make_communicator(cfg, ctx);
  qf::Tensor t = qf::Tensor::zeros({4});
  comm->all_reduce_sum(t);  // both ranks: the job works
  std::printf("rank %d: first all-reduce done\n", comm->rank());
  std::fflush(stdout);
  stop_if(rank1 && mode == "finalize", "before MPI_Finalize");
  if (mode != "collective") return 0;
  if (comm->rank() == 1) {
    if (sleep_instead) std::this_thread::sleep_for(std::chrono::seconds(600));
    stop_if(true, "instead of the second all-reduce");
    return 0;
  }
  comm->all_reduce_sum(t);  // waits for rank 1, which never comes
  std::printf("rank 0: the second all-reduce returned, which it must not\n");
  return 0;
}
