#include "comm/watchdog.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace qf {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

CollectiveWatchdog::CollectiveWatchdog(int rank, int size, double timeout_s,
                                       std::function<void()> on_timeout)
    : rank_(rank), size_(size), timeout_s_(timeout_s), on_timeout_(std::move(on_timeout)) {
  for (int i = 0; i < kSlots; ++i) {
    since_ns_[i].store(0);
    what_[i].store("");
  }
  if (timeout_s_ > 0) thread_ = std::thread([this] { run(); });
}

CollectiveWatchdog::~CollectiveWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

CollectiveWatchdog::Scope::Scope(CollectiveWatchdog& w, int slot, const char* what)
    : w_(w), slot_(slot) {
  w_.what_[slot_].store(what);
  w_.since_ns_[slot_].store(now_ns());
}

CollectiveWatchdog::Scope::~Scope() {
  w_.since_ns_[slot_].store(0);
}

void CollectiveWatchdog::run() {
  const auto period = std::chrono::duration<double>(std::min(1.0, timeout_s_ / 4));
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
    for (int i = 0; i < kSlots; ++i) {
      const int64_t since = since_ns_[i].load();
      if (since == 0) continue;
      const double waited = static_cast<double>(now_ns() - since) * 1e-9;
      if (waited < timeout_s_) continue;
      std::fprintf(stderr,
                   "qforge: rank %d of %d: %s has waited %.0f s for the other ranks "
                   "(dist.timeout_s %g); another rank has stopped or hangs, ending the job\n",
                   rank_, size_, what_[i].load(), waited, timeout_s_);
      std::fflush(stderr);
      on_timeout_();
    }
  }
}

}  // namespace qf
