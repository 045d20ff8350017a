// CollectiveWatchdog: ends the job when one collective waits too long.
//
// A collective blocks until every rank has entered it; when a peer has died the job normally ends
// by mpirun killing everyone, but a peer that hangs (a deadlock, a stalled file system, a rank
// that took another branch) would leave the others waiting forever. Each blocking call of a
// backend runs inside a Scope; a thread looks every quarter of the timeout (at most every second)
// and, when a scope has been open longer than `timeout_s`, prints which rank waited in what and
// for how long, then calls `on_timeout` (which aborts the job and does not return).
//
// Two slots: 0 for the training thread's collectives, 1 for the communication thread's. A
// timeout <= 0 disables the watchdog.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace qf {

class CollectiveWatchdog {
 public:
  static constexpr int kSlots = 2;

  CollectiveWatchdog(int rank, int size, double timeout_s, std::function<void()> on_timeout);
  ~CollectiveWatchdog();
  CollectiveWatchdog(const CollectiveWatchdog&) = delete;
  CollectiveWatchdog& operator=(const CollectiveWatchdog&) = delete;

  class Scope {
   public:
    Scope(CollectiveWatchdog& w, int slot, const char* what);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    CollectiveWatchdog& w_;
    int slot_;
  };

  double timeout_s() const { return timeout_s_; }

 private:
  void run();

  int rank_, size_;
  double timeout_s_;
  std::function<void()> on_timeout_;
  std::atomic<int64_t> since_ns_[kSlots];  // steady-clock start of the open scope, 0 when none
  std::atomic<const char*> what_[kSlots];
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace qf
