// Communicator: the collectives data-parallel training needs, behind one interface with three
// backends — local (one process, here), MPI (host buffers, comm/mpi/) and NCCL (device buffers,
// comm/nccl/). make_communicator (comm/make_communicator.h) picks one for a run. The interface
// lives in nn/ because kernels use it (SyncBatchNorm's statistics, quantizer scales kept equal on
// every rank); the backends and the gradient sync live in comm/, a layer above.
//
// All calls are collective: every rank calls them in the same order with tensors of the same
// shape and dtype. Tensors live on the device the backend serves (host for local and MPI).
//
//   all_reduce_sum / all_reduce_max: t[i] <- sum / max over ranks of t[i], in place; f32 or f64.
//   broadcast: t <- root's t, any dtype (bytes).
//   all_reduce_sum_async / wait_async: the gradient buckets' sum (f32), started at once and run
//     beside the caller's further work (MPI: a communication thread on a communicator of its own;
//     NCCL: a side stream that first waits for the compute stream's work so far). Sums started
//     this way complete in the order they were started; after wait_async() every one of them is
//     in place (on a GPU: for work queued on the compute stream after the call). Blocking
//     collectives may be issued while sums are in flight (they travel on another channel).
//
// Errors: a failed MPI/NCCL call throws InternalError with file:line. A rank that throws must end
// the whole job (abort), so that no other rank waits forever in a collective; the MPI and NCCL
// backends also end the job when one collective waits longer than the configured timeout.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "nn/tensor.h"

namespace qf {

// Time a backend spent on asynchronous sums (for the benchmark's overlap figures).
struct AsyncCommStats {
  double busy_seconds = 0;  // wall time with at least one asynchronous sum in flight
  int64_t reductions = 0;   // sums completed
  int64_t bytes = 0;        // bytes reduced
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;

  // In place, f32 or f64.
  virtual void all_reduce_sum(const Tensor& t) = 0;
  virtual void all_reduce_max(const Tensor& t) = 0;
  // Any dtype.
  virtual void broadcast(const Tensor& t, int root) = 0;
  virtual void barrier() = 0;
  // Small host-side reductions (metric counts, calibration statistics), double precision.
  virtual void all_reduce_sum_host(double* data, size_t n) = 0;
  virtual void all_reduce_max_host(double* data, size_t n) = 0;

  // Asynchronous in-place sum of an f32 tensor (see the header comment). The default runs the
  // blocking sum at once.
  virtual void all_reduce_sum_async(const Tensor& t) { all_reduce_sum(t); }
  virtual void wait_async() {}
  virtual AsyncCommStats async_stats() const { return {}; }

  // Ends every rank's process: a rank that failed calls this so no other rank waits forever in a
  // collective. Never returns.
  [[noreturn]] virtual void abort(int exit_code) = 0;

  bool is_root() const { return rank() == 0; }
};

// One process: every collective is the identity.
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }
  void all_reduce_sum(const Tensor&) override {}
  void all_reduce_max(const Tensor&) override {}
  void broadcast(const Tensor&, int) override {}
  void barrier() override {}
  void all_reduce_sum_host(double*, size_t) override {}
  void all_reduce_max_host(double*, size_t) override {}
  [[noreturn]] void abort(int exit_code) override;
};

}  // namespace qf
