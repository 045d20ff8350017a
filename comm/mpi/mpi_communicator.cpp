// MpiCommunicator: the Communicator over MPI_COMM_WORLD on host buffers (Open MPI).
//
// Two duplicates of MPI_COMM_WORLD: one for the blocking collectives of the training thread, one
// for the gradient buckets, which a communication thread reduces with MPI_Iallreduce while the
// training thread goes on with backward (MPI_THREAD_MULTIPLE; collectives on different
// communicators never match each other, so the two streams of collectives may interleave
// freely). Buckets are reduced one at a time in the order they were started.
//
// Every collective, blocking ones included, is started non-blocking and waited for by testing its
// request: in a tight loop for the first 50 us (the ranks usually arrive together), then yielding
// the core, then sleeping 20 us between tests. A rank waiting for a late peer so leaves the core
// to the work it overlaps and to the peer itself; MPI's own blocking wait spins (or yields, when
// oversubscribed) and starves them. Measured on the shared 2-core machine under load
// (bench/dist_bench, bench/RESULTS.md): a 0.24 MB gradient all-reduce right after backward took
// 46 ms with MPI_Allreduce and 10 ms this way (0.05-0.09 ms when both ranks arrive together);
// a 64-double all-reduce whose last rank comes 2 ms late cost the others 20 ms beyond those 2 ms
// with MPI_Allreduce and 5 ms this way; arriving together, 1 us and 2 us.
//
// Every blocking call and every bucket runs under the CollectiveWatchdog: a collective waiting
// longer than dist.timeout_s prints which rank waited in what and aborts the job.
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "comm/backends.h"
#include "comm/mpi/mpi_check.h"
#include "comm/mpi_session.h"
#include "comm/watchdog.h"

namespace qf {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kMaxCount = INT_MAX / 2;  // MPI counts are int: larger ranges go in chunks

MPI_Datatype mpi_type(const Tensor& t, const char* what) {
  QF_CHECK(t.device().is_cpu(), what, " on the MPI backend needs a host tensor, got ",
           t.device().str());
  switch (t.dtype()) {
    case DType::f32:
      return MPI_FLOAT;
    case DType::f64:
      return MPI_DOUBLE;
    default:
      QF_CHECK(false, what, " reduces f32 or f64 tensors, got ", dtype_name(t.dtype()));
  }
  return MPI_DATATYPE_NULL;
}

// Waits for `req`, driving MPI's progress, without holding the core for long (see the header):
// tests in a tight loop for 50 us, yielding between tests until 250 us, then sleeping 20 us
// between tests. Returns false, leaving the request pending, when `stop` becomes true first.
bool wait_politely(MPI_Request& req, const std::atomic<bool>* stop = nullptr) {
  const auto start = Clock::now();
  int finished = 0;
  for (;;) {
    QF_MPI(MPI_Test(&req, &finished, MPI_STATUS_IGNORE));
    if (finished) return true;
    if (stop && stop->load()) return false;
    const auto waited = Clock::now() - start;
    if (waited < std::chrono::microseconds(50)) continue;
    if (waited < std::chrono::microseconds(250))
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

// In-place all-reduce of n elements, in chunks of at most kMaxCount. False when stopped.
bool all_reduce(void* data, int64_t n, MPI_Datatype type, MPI_Op op, MPI_Comm comm,
                const std::atomic<bool>* stop = nullptr) {
  int size = 0;
  MPI_Type_size(type, &size);
  for (int64_t i = 0; i < n; i += kMaxCount) {
    const int count = static_cast<int>(std::min(kMaxCount, n - i));
    MPI_Request req;
    QF_MPI(MPI_Iallreduce(MPI_IN_PLACE, static_cast<char*>(data) + i * size, count, type, op, comm,
                          &req));
    if (!wait_politely(req, stop)) return false;
  }
  return true;
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(const DistConfig& cfg) {
    QF_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
    QF_MPI(MPI_Comm_size(MPI_COMM_WORLD, &size_));
    watchdog_ =
        std::make_unique<CollectiveWatchdog>(rank_, size_, cfg.timeout_s, [] { abort_job(4); });
    {
      // Duplicating a communicator is collective: a rank that stopped would hold the others here.
      CollectiveWatchdog::Scope w(*watchdog_, 0, "communicator set-up (MPI_Comm_dup)");
      QF_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &comm_));
      QF_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &async_.comm));
    }
    QF_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    QF_MPI(MPI_Comm_set_errhandler(async_.comm, MPI_ERRORS_RETURN));
    async_.watchdog = watchdog_.get();
    async_.thread = std::thread([this] { async_.run(); });
  }

  ~MpiCommunicator() override {
    {
      std::lock_guard<std::mutex> lock(async_.mu);
      async_.stop = true;
    }
    async_.work.notify_all();
    async_.thread.join();  // the thread polls, so it sees `stop` within microseconds
    watchdog_.reset();
    // After a failure (an exception unwinding, a bucket still in flight) the job is about to be
    // aborted: leave the communicators alone rather than free them under pending requests.
    if (async_.in_flight == 0 && std::uncaught_exceptions() == 0 && mpi_running()) {
      MPI_Comm_free(&async_.comm);
      MPI_Comm_free(&comm_);
    }
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  void all_reduce_sum(const Tensor& t) override {
    CollectiveWatchdog::Scope w(*watchdog_, 0, "all_reduce_sum");
    all_reduce(t.raw(), t.numel(), mpi_type(t, "all_reduce_sum"), MPI_SUM, comm_);
  }
  void all_reduce_max(const Tensor& t) override {
    CollectiveWatchdog::Scope w(*watchdog_, 0, "all_reduce_max");
    all_reduce(t.raw(), t.numel(), mpi_type(t, "all_reduce_max"), MPI_MAX, comm_);
  }
  void broadcast(const Tensor& t, int root) override {
    QF_CHECK(t.device().is_cpu(), "broadcast on the MPI backend needs a host tensor");
    QF_CHECK(root >= 0 && root < size_, "broadcast root ", root, " of ", size_, " ranks");
    CollectiveWatchdog::Scope w(*watchdog_, 0, "broadcast");
    const int64_t n = static_cast<int64_t>(t.nbytes());
    for (int64_t i = 0; i < n; i += kMaxCount) {
      const int count = static_cast<int>(std::min(kMaxCount, n - i));
      MPI_Request req;
      QF_MPI(MPI_Ibcast(static_cast<char*>(t.raw()) + i, count, MPI_BYTE, root, comm_, &req));
      wait_politely(req);
    }
  }
  void barrier() override {
    CollectiveWatchdog::Scope w(*watchdog_, 0, "barrier");
    MPI_Request req;
    QF_MPI(MPI_Ibarrier(comm_, &req));
    wait_politely(req);
  }
  void all_reduce_sum_host(double* data, size_t n) override {
    CollectiveWatchdog::Scope w(*watchdog_, 0, "all_reduce_sum_host");
    all_reduce(data, static_cast<int64_t>(n), MPI_DOUBLE, MPI_SUM, comm_);
  }
  void all_reduce_max_host(double* data, size_t n) override {
    CollectiveWatchdog::Scope w(*watchdog_, 0, "all_reduce_max_host");
    all_reduce(data, static_cast<int64_t>(n), MPI_DOUBLE, MPI_MAX, comm_);
  }

  void all_reduce_sum_async(const Tensor& t) override {
    QF_CHECK(t.device().is_cpu() && t.dtype() == DType::f32,
             "all_reduce_sum_async on the MPI backend takes a host f32 tensor");
    std::lock_guard<std::mutex> lock(async_.mu);
    if (async_.in_flight == 0) async_.busy_since = Clock::now();
    ++async_.in_flight;
    async_.queue.push_back(t);
    async_.work.notify_one();
  }

  void wait_async() override {
    std::unique_lock<std::mutex> lock(async_.mu);
    async_.done.wait(lock, [this] { return async_.in_flight == 0; });
    if (async_.error) std::rethrow_exception(async_.error);
  }

  AsyncCommStats async_stats() const override {
    std::lock_guard<std::mutex> lock(async_.mu);
    return async_.stats;
  }

  [[noreturn]] void abort(int exit_code) override { abort_job(exit_code); }

 private:
  // The communication thread and the queue of buckets it reduces.
  struct Async {
    MPI_Comm comm = MPI_COMM_NULL;
    CollectiveWatchdog* watchdog = nullptr;
    mutable std::mutex mu;
    std::condition_variable work, done;
    std::deque<Tensor> queue;
    int in_flight = 0;              // queued or being reduced
    std::atomic<bool> stop{false};  // written under mu
    std::exception_ptr error;
    AsyncCommStats stats;
    Clock::time_point busy_since;
    std::thread thread;

    void run() {
      for (;;) {
        Tensor t;
        {
          std::unique_lock<std::mutex> lock(mu);
          work.wait(lock, [this] { return stop || !queue.empty(); });
          if (stop) return;
          t = queue.front();
          queue.pop_front();
        }
        bool ok = true;
        try {
          ok = reduce(t);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu);
          if (!error) error = std::current_exception();
        }
        if (!ok) return;  // stopped while waiting for the other ranks
        std::lock_guard<std::mutex> lock(mu);
        ++stats.reductions;
        stats.bytes += static_cast<int64_t>(t.nbytes());
        if (--in_flight == 0)
          stats.busy_seconds += std::chrono::duration<double>(Clock::now() - busy_since).count();
        done.notify_all();
      }
    }

    // False when asked to stop before the sum completed.
    bool reduce(const Tensor& t) {
      CollectiveWatchdog::Scope w(*watchdog, 1, "a gradient all-reduce");
      return all_reduce(t.raw(), t.numel(), MPI_FLOAT, MPI_SUM, comm, &stop);
    }
  };

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  std::unique_ptr<CollectiveWatchdog> watchdog_;
  Async async_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator(const DistConfig& cfg) {
  return std::make_unique<MpiCommunicator>(cfg);
}

}  // namespace qf
