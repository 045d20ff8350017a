#include "nn/arena_planner.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace qf {

namespace {
constexpr size_t kAlign = 64;
constexpr long kNever = std::numeric_limits<long>::max();
}  // namespace

int ArenaPlanner::acquire(size_t bytes) {
  size_.push_back((std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign);
  start_.push_back(clock_++);
  end_.push_back(kNever);
  return static_cast<int>(size_.size()) - 1;
}

void ArenaPlanner::release(int id) {
  const size_t i = static_cast<size_t>(id);
  if (end_.at(i) == kNever) end_[i] = clock_++;
}

void ArenaPlanner::place() {
  const size_t n = size_.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return size_[a] > size_[b]; });
  offset_.assign(n, 0);
  total_ = 0;
  std::vector<size_t> placed;  // in placement order
  std::vector<std::pair<size_t, size_t>> busy;  // [offset, end) of placed buffers overlapping in time
  for (size_t i : order) {
    busy.clear();
    for (size_t j : placed)
      if (start_[i] < end_[j] && start_[j] < end_[i]) busy.push_back({offset_[j], offset_[j] + size_[j]});
    std::sort(busy.begin(), busy.end());
    size_t at = 0;  // lowest offset with size_[i] free bytes
    for (const auto& [b, e] : busy) {
      if (b >= at + size_[i]) break;
      at = std::max(at, e);
    }
    offset_[i] = at;
    total_ = std::max(total_, at + size_[i]);
    placed.push_back(i);
  }
}

size_t ArenaPlanner::peak_live() const {
  std::vector<std::pair<long, long>> events;  // (tick, +size or -size)
  for (size_t i = 0; i < size_.size(); ++i) {
    events.push_back({start_[i], static_cast<long>(size_[i])});
    if (end_[i] != kNever) events.push_back({end_[i], -static_cast<long>(size_[i])});
  }
  std::sort(events.begin(), events.end());
  long live = 0, peak = 0;
  for (const auto& [tick, delta] : events) peak = std::max(peak, live += delta);
  return static_cast<size_t>(peak);
}

}  // namespace qf
