// Entry point of the tests run under mpirun (registered in tests/CMakeLists.txt through
// run_mpi.sh): initialises MPI, makes the job's communicator and runs every test on every rank.
// A failure on any rank makes that rank's exit code, and so mpirun's, non-zero.
#include <gtest/gtest.h>

#include <cstring>

#include "comm/make_communicator.h"
#include "comm/mpi_session.h"
#include "launch/lib/builtin_ops.h"
#include "tests/dist_mpi/mpi_test_util.h"

namespace qf::test {
namespace {
std::unique_ptr<Communicator> g_world;
}

Communicator& world() {
  return *g_world;
}

bool all_ranks(bool ok) {
  double bad = ok ? 0 : 1;
  world().all_reduce_max_host(&bad, 1);
  return bad == 0;
}

bool same_on_all_ranks(const Tensor& t) {
  Tensor root = t.clone();
  world().broadcast(root, 0);
  return all_ranks(std::memcmp(root.raw(), t.raw(), t.nbytes()) == 0);
}

Tensor sample_slice(const Tensor& t, int64_t begin, int64_t end) {
  Shape s = t.shape();
  const size_t per = t.nbytes() / static_cast<size_t>(s[0]);
  s[0] = end - begin;
  return t.view(static_cast<size_t>(begin) * per, s, t.dtype()).clone();
}

}  // namespace qf::test

int main(int argc, char** argv) {
  qf::install_builtin_ops();
  qf::MpiSession session;
  ::testing::InitGoogleTest(&argc, argv);
  int rc = 0;
  {
    qf::CpuContext ctx(1);
    qf::DistConfig cfg;
    cfg.timeout_s = 120;
    qf::test::g_world = qf::make_communicator(cfg, ctx);
    std::printf("rank %d of %d (%s)\n", qf::test::world().rank(), qf::test::world().size(),
                qf::test::world().backend().c_str());
    rc = RUN_ALL_TESTS();
    qf::test::g_world.reset();
  }
  return rc;
}
