// NcclCommunicator: the Communicator on GPU memory through NCCL, one rank per process and GPU.
//
// Set-up: rank 0 draws two NCCL unique ids and broadcasts them over MPI (MPI_COMM_WORLD; a single
// rank needs no MPI); every rank selects its context's GPU (the launcher gave it cuda:<local
// rank>) and joins two NCCL communicators: one for the collectives the training thread issues
// (scale maxima, SyncBatchNorm sums, broadcasts), one for gradient buckets, so buckets in flight
// never serialise the others.
//
// Streams: blocking-style collectives are queued on the context's compute stream
// (cuda_stream_of, nn/context.h), so they are ordered with the kernels around them and the host
// never waits for them: "in place" means for the work queued after the call on that stream.
// Gradient buckets go to a side stream that first waits for an event recorded on the compute
// stream (the gradients so far are written); wait_async records an event on the side stream and
// makes the compute stream wait for it (no host synchronisation, as llm.c does). The host-side
// reductions of double counts go over MPI.
//
// Errors: every CUDA, NCCL and MPI return code is checked (InternalError with file:line);
// asynchronous NCCL errors (a peer gone) are polled at wait_async and barrier; abort() aborts the
// NCCL communicators before MPI_Abort so no kernel keeps spinning.
//
// Not yet run on a GPU: this file was compiled against CUDA 13 and NCCL headers on a machine
// without a GPU (see docs/distributed.md).
#include <cuda_runtime.h>
#include <mpi.h>
#include <nccl.h>

#include "comm/backends.h"
#include "comm/mpi/mpi_check.h"
#include "comm/mpi_session.h"
#include "comm/watchdog.h"

#define QF_CUDA(call)                                                                         \
  do {                                                                                        \
    const cudaError_t qf_cuda_rc_ = (call);                                                   \
    if (qf_cuda_rc_ != cudaSuccess)                                                           \
      throw ::qf::InternalError(::qf::str_cat(__FILE__, ":", __LINE__, ": ", #call,           \
                                              " failed: ", cudaGetErrorString(qf_cuda_rc_))); \
  } while (0)

#define QF_NCCL(call)                                                                         \
  do {                                                                                        \
    const ncclResult_t qf_nccl_rc_ = (call);                                                  \
    if (qf_nccl_rc_ != ncclSuccess)                                                           \
      throw ::qf::InternalError(::qf::str_cat(__FILE__, ":", __LINE__, ": ", #call,           \
                                              " failed: ", ncclGetErrorString(qf_nccl_rc_))); \
  } while (0)

namespace qf {
namespace {

ncclDataType_t nccl_type(const Tensor& t, const char* what) {
  QF_CHECK(t.device().is_cuda(), what, " on the NCCL backend needs a GPU tensor, got ",
           t.device().str());
  switch (t.dtype()) {
    case DType::f32:
      return ncclFloat32;
    case DType::f64:
      return ncclFloat64;
    default:
      QF_CHECK(false, what, " reduces f32 or f64 tensors, got ", dtype_name(t.dtype()));
  }
  return ncclFloat32;
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(const DistConfig& cfg, DeviceContext& ctx, const LaunchEnv& env)
      : rank_(env.world_rank), size_(env.world_size) {
    const Device dev = ctx.device();
    QF_CHECK(dev.is_cuda(), "the NCCL backend needs a CUDA context");
    QF_CUDA(cudaSetDevice(dev.index));
    stream_ = static_cast<cudaStream_t>(cuda_stream_of(ctx));
    watchdog_ =
        std::make_unique<CollectiveWatchdog>(rank_, size_, cfg.timeout_s, [this] { abort_all(4); });
    if (size_ > 1) {
      CollectiveWatchdog::Scope w(*watchdog_, 0, "communicator set-up (MPI_Comm_dup)");
      QF_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &mpi_));
      QF_MPI(MPI_Comm_set_errhandler(mpi_, MPI_ERRORS_RETURN));
    }
    ncclUniqueId ids[2];
    if (rank_ == 0) {
      QF_NCCL(ncclGetUniqueId(&ids[0]));
      QF_NCCL(ncclGetUniqueId(&ids[1]));
    }
    if (size_ > 1) {
      CollectiveWatchdog::Scope w(*watchdog_, 0, "the NCCL id broadcast");
      QF_MPI(MPI_Bcast(ids, static_cast<int>(sizeof ids), MPI_BYTE, 0, mpi_));
    }
    {
      CollectiveWatchdog::Scope w(*watchdog_, 0, "ncclCommInitRank");
      QF_NCCL(ncclCommInitRank(&comm_, size_, ids[0], rank_));
      QF_NCCL(ncclCommInitRank(&bucket_comm_, size_, ids[1], rank_));
    }
    QF_CUDA(cudaStreamCreateWithFlags(&side_, cudaStreamNonBlocking));
    QF_CUDA(cudaEventCreateWithFlags(&grads_written_, cudaEventDisableTiming));
    QF_CUDA(cudaEventCreateWithFlags(&buckets_done_, cudaEventDisableTiming));
  }

  ~NcclCommunicator() override {
    watchdog_.reset();
    if (std::uncaught_exceptions() == 0) {  // a clean end: let queued work finish first
      cudaStreamSynchronize(side_);
      cudaStreamSynchronize(stream_);
      ncclCommDestroy(bucket_comm_);
      ncclCommDestroy(comm_);
    } else {
      ncclCommAbort(bucket_comm_);
      ncclCommAbort(comm_);
    }
    cudaEventDestroy(buckets_done_);
    cudaEventDestroy(grads_written_);
    cudaStreamDestroy(side_);
    if (mpi_ != MPI_COMM_NULL && mpi_running()) MPI_Comm_free(&mpi_);
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "nccl"; }

  void all_reduce_sum(const Tensor& t) override {
    QF_NCCL(ncclAllReduce(t.raw(), t.raw(), static_cast<size_t>(t.numel()),
                          nccl_type(t, "all_reduce_sum"), ncclSum, comm_, stream_));
  }
  void all_reduce_max(const Tensor& t) override {
    QF_NCCL(ncclAllReduce(t.raw(), t.raw(), static_cast<size_t>(t.numel()),
                          nccl_type(t, "all_reduce_max"), ncclMax, comm_, stream_));
  }
  void broadcast(const Tensor& t, int root) override {
    QF_CHECK(t.device().is_cuda(), "broadcast on the NCCL backend needs a GPU tensor");
    QF_CHECK(root >= 0 && root < size_, "broadcast root ", root, " of ", size_, " ranks");
    QF_NCCL(ncclBroadcast(t.raw(), t.raw(), t.nbytes(), ncclChar, root, comm_, stream_));
  }
  void barrier() override {
    QF_CUDA(cudaStreamSynchronize(stream_));
    check_async_errors();
    if (size_ == 1) return;
    CollectiveWatchdog::Scope w(*watchdog_, 0, "barrier");
    QF_MPI(MPI_Barrier(mpi_));
  }
  void all_reduce_sum_host(double* data, size_t n) override { host_reduce(data, n, MPI_SUM); }
  void all_reduce_max_host(double* data, size_t n) override { host_reduce(data, n, MPI_MAX); }

  void all_reduce_sum_async(const Tensor& t) override {
    QF_CHECK(t.dtype() == DType::f32, "gradient buckets are f32");
    QF_CUDA(cudaEventRecord(grads_written_, stream_));
    QF_CUDA(cudaStreamWaitEvent(side_, grads_written_, 0));
    QF_NCCL(ncclAllReduce(t.raw(), t.raw(), static_cast<size_t>(t.numel()), ncclFloat32, ncclSum,
                          bucket_comm_, side_));
    ++stats_.reductions;
    stats_.bytes += static_cast<int64_t>(t.nbytes());
  }
  void wait_async() override {
    QF_CUDA(cudaEventRecord(buckets_done_, side_));
    QF_CUDA(cudaStreamWaitEvent(stream_, buckets_done_, 0));
    check_async_errors();
  }
  AsyncCommStats async_stats() const override { return stats_; }

  [[noreturn]] void abort(int exit_code) override { abort_all(exit_code); }

 private:
  void host_reduce(double* data, size_t n, MPI_Op op) {
    if (size_ == 1) return;
    CollectiveWatchdog::Scope w(*watchdog_, 0, "a host all-reduce");
    QF_MPI(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), MPI_DOUBLE, op, mpi_));
  }

  void check_async_errors() {
    for (ncclComm_t c : {comm_, bucket_comm_}) {
      ncclResult_t r = ncclSuccess;
      QF_NCCL(ncclCommGetAsyncError(c, &r));
      if (r != ncclSuccess)
        throw InternalError(str_cat("NCCL reported an asynchronous error on rank ", rank_, ": ",
                                    ncclGetErrorString(r)));
    }
  }

  [[noreturn]] void abort_all(int exit_code) {
    ncclCommAbort(bucket_comm_);
    ncclCommAbort(comm_);
    abort_job(exit_code);
  }

  int rank_, size_;
  MPI_Comm mpi_ = MPI_COMM_NULL;
  cudaStream_t stream_ = nullptr;  // the context's compute stream
  cudaStream_t side_ = nullptr;    // gradient buckets
  cudaEvent_t grads_written_ = nullptr, buckets_done_ = nullptr;
  ncclComm_t comm_ = nullptr, bucket_comm_ = nullptr;
  std::unique_ptr<CollectiveWatchdog> watchdog_;
  AsyncCommStats stats_;
};

}  // namespace

bool nccl_built() {
  return true;
}

std::unique_ptr<Communicator> make_nccl_communicator(const DistConfig& cfg, DeviceContext& ctx,
                                                     const LaunchEnv& env) {
  return std::make_unique<NcclCommunicator>(cfg, ctx, env);
}

}  // namespace qf
