// A two-rank job in which rank 1 hangs (sleeps instead of entering a collective) while rank 0
// waits in an all-reduce: rank 0's watchdog must end the job after dist.timeout_s (argv[1]) with
// a message naming the rank and the collective (hung_rank_test.sh checks the time and message).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "comm/make_communicator.h"
#include "comm/mpi_session.h"

int main(int argc, char** argv) {
  qf::MpiSession session;
  qf::CpuContext ctx(1);
  qf::DistConfig cfg;
  cfg.timeout_s = argc > 1 ? std::atof(argv[1]) : 3;
  auto comm = qf::make_communicator(cfg, ctx);
  qf::Tensor t = qf::Tensor::zeros({4});
  comm->all_reduce_sum(t);  // both ranks: the job works
  std::printf("rank %d: first all-reduce done\n", comm->rank());
  std::fflush(stdout);
  if (comm->rank() == 1) {
    std::this_thread::sleep_for(std::chrono::seconds(600));  // hangs
    return 0;
  }
  comm->all_reduce_sum(t);  // waits for rank 1, which never comes
  std::printf("rank 0: the second all-reduce returned, which it must not\n");
  return 0;
}
