// dist_bench: data-parallel training on the CPU, one process against N processes (one thread each,
// the same batch per rank), run as `mpirun -np N dist_bench [options]` (bench/dist_bench.sh runs
// it with the PyTorch DDP peer beside it). Synthetic data: the step's compute and communication
// only. Per configuration it prints the median step time, and:
//   1 process:            the step without any communication (rank 0 alone; the other ranks wait
//                         without using a core);
//   N ranks, overlapped:  gradients summed in dist.bucket_mb buckets as backward produces them
//                         (comm/grad_sync.h), exposed = the wait after backward;
//   N ranks, blocking:    one all-reduce of the whole gradient arena after backward;
//   all-reduce alone:     that all-reduce with nothing else running.
// Scaling efficiency = T(1 process) / T(N ranks) at equal per-rank batch (N times the images in
// the same time = 100 %). Share hidden = 1 - exposed wait / all-reduce alone.
//
// Options: --model lenet|mobilenet_v1 (mobilenet_v1), --scale S (1.0), --batch B per rank (32),
// --size S image side (28), --steps K timed steps (20), --warmup K (3), --bucket_mb M (4).
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "comm/grad_sync.h"
#include "comm/make_communicator.h"
#include "comm/mpi_session.h"
#include "comm/state_sync.h"
#include "launch/lib/builtin_ops.h"
#include "models/registry.h"
#include "trainer/optimizer.h"

namespace qf {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

struct Options {
  std::string model = "mobilenet_v1";
  double scale = 1.0, bucket_mb = 4;
  int batch = 32, size = 28, steps = 20, warmup = 3;
};

enum class Sync { none, overlapped, blocking };

struct Figures {
  double step = 0, backward = 0, exposed = 0;  // medians, seconds
  double in_flight = 0;                        // asynchronous sums in flight per step
  size_t buckets = 0;
};

// Ranks that sit out wait here without spinning on a core (a non-blocking barrier, tested with
// sleeps); every rank calls it.
void quiet_barrier() {
  MPI_Request req;
  MPI_Ibarrier(MPI_COMM_WORLD, &req);
  int done = 0;
  while (!done) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Figures run(const Options& o, const Graph& g, Communicator& comm, Sync sync) {
  CpuContext ctx(1);
  ParamStore store(g, ctx, 1);
  broadcast_model_state(store, comm);
  Executor ex(g, store, ctx);
  ex.prepare(o.batch);
  OptimizerConfig oc;
  oc.lr = 0.01;
  SgdMomentum opt(store, oc);
  GradSync grad_sync(store, comm, o.bucket_mb);
  if (sync == Sync::overlapped) grad_sync.attach(ex);
  Tensor images = Tensor::empty({o.batch, 1, o.size, o.size}, DType::f32);
  Tensor labels = Tensor::empty({o.batch}, DType::i32);
  std::mt19937 gen(17 + comm.rank());
  std::normal_distribution<float> nd;
  for (int64_t i = 0; i < images.numel(); ++i) images.data<float>()[i] = nd(gen);
  for (int i = 0; i < o.batch; ++i) labels.data<int32_t>()[i] = static_cast<int32_t>(gen() % 10);
  std::vector<double> step, backward, exposed;
  double busy0 = 0;
  for (int i = 0; i < o.warmup + o.steps; ++i) {
    if (i == o.warmup) busy0 = comm.async_stats().busy_seconds;
    const auto t0 = Clock::now();
    ex.set_input("image", images);
    ex.set_input("label", labels);
    ex.forward(Mode::train);
    const auto t1 = Clock::now();
    ex.backward();
    const auto t2 = Clock::now();
    if (sync == Sync::overlapped) grad_sync.finish();
    if (sync == Sync::blocking) comm.all_reduce_sum(store.grad_arena());
    const double wait = since(t2);
    opt.step(0.01, 1.f / static_cast<float>(comm.size()));
    if (i < o.warmup) continue;
    step.push_back(since(t0));
    backward.push_back(std::chrono::duration<double>(t2 - t1).count());
    exposed.push_back(wait);
  }
  Figures f;
  f.step = median(step);
  f.backward = median(backward);
  f.exposed = median(exposed);
  f.in_flight = (comm.async_stats().busy_seconds - busy0) / o.steps;
  f.buckets = grad_sync.buckets().size();
  return f;
}

// Small all-reduces as SyncBatchNorm and scale synchronisation issue them (64 doubles), with the
// last rank arriving `late_us` after the others (it computes meanwhile): the median time rank 0
// spends per collective beyond that lateness, for MPI's own blocking MPI_Allreduce and for the
// communicator's (non-blocking, waiting politely).
double small_collective_us(Communicator& comm, bool native, double late_us, int iters) {
  std::vector<double> buf(64, 1.0), t;
  for (int i = 0; i < iters + 3; ++i) {
    comm.barrier();
    const auto t0 = Clock::now();
    if (comm.rank() == comm.size() - 1) {
      volatile double x = 0;
      while (since(t0) * 1e6 < late_us) x = x + 1;
    }
    if (native)
      MPI_Allreduce(MPI_IN_PLACE, buf.data(), 64, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    else
      comm.all_reduce_sum_host(buf.data(), 64);
    if (i >= 3) t.push_back(since(t0) * 1e6 - late_us);
  }
  return median(t);
}

double all_reduce_alone(const Graph& g, Communicator& comm, int reps) {
  CpuContext ctx(1);
  ParamStore store(g, ctx, 1);
  std::vector<double> t;
  for (int i = 0; i < reps + 2; ++i) {
    comm.barrier();
    const auto t0 = Clock::now();
    comm.all_reduce_sum(store.grad_arena());
    if (i >= 2) t.push_back(since(t0));
  }
  return median(t);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model")
      o.model = v;
    else if (k == "--scale")
      o.scale = std::atof(v.c_str());
    else if (k == "--batch")
      o.batch = std::atoi(v.c_str());
    else if (k == "--size")
      o.size = std::atoi(v.c_str());
    else if (k == "--steps")
      o.steps = std::atoi(v.c_str());
    else if (k == "--warmup")
      o.warmup = std::atoi(v.c_str());
    else if (k == "--bucket_mb")
      o.bucket_mb = std::atof(v.c_str());
    else
      throw_input_error("dist_bench: unknown option ", k);
  }
  return o;
}

int main_impl(int argc, char** argv) {
  const Options o = parse(argc, argv);
  CpuContext setup_ctx(1);
  DistConfig dc;
  dc.bucket_mb = o.bucket_mb;
  auto comm = make_communicator(dc, setup_ctx);
  const int W = comm->size();
  ModelConfig mc;
  mc.name = o.model;
  mc.scale = o.scale;
  mc.image_size = o.size;
  Graph g = build_model(mc);
  add_classification_loss(g, g.outputs()[0], 0.0);
  const bool root = comm->is_root();

  Figures one;
  if (root) {
    LocalCommunicator local;
    one = run(o, g, local, Sync::none);
  }
  if (W > 1) quiet_barrier();
  const Figures over = W > 1 ? run(o, g, *comm, Sync::overlapped) : one;
  const Figures block = W > 1 ? run(o, g, *comm, Sync::blocking) : one;
  const double alone = W > 1 ? all_reduce_alone(g, *comm, 10) : 0;
  double small[2][2] = {};  // [native][late]
  if (W > 1)
    for (int late = 0; late < 2; ++late)
      for (int native = 0; native < 2; ++native)
        small[native][late] = small_collective_us(*comm, native, late ? 2000 : 0, 30);
  if (!root) return 0;

  CpuContext ctx(1);
  const ParamStore store(g, ctx, 1);
  const double mb = store.grad_arena().nbytes() / 1048576.0;
  std::printf(
      "dist_bench: %s (scale %g, %dx%d), batch %d per rank, %d thread per rank, %d "
      "timed steps (medians); gradients %.2f MiB in %zu bucket(s) of %g MiB\n",
      o.model.c_str(), o.scale, o.size, o.size, o.batch, 1, o.steps, mb, over.buckets, o.bucket_mb);
  std::printf("  1 process                step %7.1f ms   backward %7.1f ms   %7.1f img/s\n",
              1e3 * one.step, 1e3 * one.backward, o.batch / one.step);
  if (W > 1) {
    std::printf(
        "  %d ranks, overlapped      step %7.1f ms   backward %7.1f ms   %7.1f img/s   "
        "efficiency %5.1f %%   exposed wait %6.2f ms, sums in flight %6.2f ms per step\n",
        W, 1e3 * over.step, 1e3 * over.backward, W * o.batch / over.step,
        100 * one.step / over.step, 1e3 * over.exposed, 1e3 * over.in_flight);
    std::printf(
        "  %d ranks, blocking        step %7.1f ms   backward %7.1f ms   %7.1f img/s   "
        "efficiency %5.1f %%   all-reduce after backward %6.2f ms\n",
        W, 1e3 * block.step, 1e3 * block.backward, W * o.batch / block.step,
        100 * one.step / block.step, 1e3 * block.exposed);
    std::printf(
        "  all-reduce of %.2f MiB alone: %.2f ms (%.2f GB/s algorithm bandwidth); hidden "
        "behind backward: %.0f %% (1 - exposed wait / all-reduce alone)\n",
        mb, 1e3 * alone, mb * 1.048576e-3 / alone, 100 * std::max(0.0, 1 - over.exposed / alone));
    std::printf("  small all-reduce (64 doubles) on rank 0, beyond the last rank's lateness: "
                "together %.0f us (MPI_Allreduce %.0f us), last rank 2 ms late %.0f us "
                "(MPI_Allreduce %.0f us)\n",
                small[0][0], small[1][0], small[0][1], small[1][1]);
  }
  std::printf(
      "{\"bench\": \"dist\", \"model\": \"%s\", \"ranks\": %d, \"batch_per_rank\": %d, "
      "\"step_ms_1\": %.3f, \"step_ms_overlapped\": %.3f, \"step_ms_blocking\": %.3f, "
      "\"allreduce_ms\": %.3f, \"exposed_ms\": %.3f, \"efficiency_overlapped\": %.4f, "
      "\"efficiency_blocking\": %.4f, \"grad_mib\": %.3f}\n",
      o.model.c_str(), W, o.batch, 1e3 * one.step, 1e3 * over.step, 1e3 * block.step, 1e3 * alone,
      1e3 * over.exposed, one.step / over.step, one.step / block.step, mb);
  return 0;
}

}  // namespace
}  // namespace qf

int main(int argc, char** argv) {
  qf::install_builtin_ops();
  qf::MpiSession session;
  try {
    return qf::main_impl(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dist_bench: %s\n", e.what());
    qf::abort_job(2);
  }
}
