// ArenaPlanner: places buffers whose lifetimes are known in one arena, so that buffers alive at the
// same time never share bytes and the arena is as small as a simple rule can make it.
//
// The executor walks a step's timeline once and calls acquire() when a buffer starts to be needed
// and release() when it stops; each call is one tick of a clock, so two buffers overlap in time
// exactly when one was acquired before the other was released. place() then assigns offsets
// greedily by size ("greedy by size", as TensorFlow Lite's arena planner): the largest buffer first,
// each at the lowest 64-byte aligned offset where it fits between the buffers already placed that
// overlap it in time. Reuse is therefore not limited to buffers of equal size, as it is when whole
// buffers are handed from one value to the next.
#pragma once

#include <cstddef>
#include <vector>

namespace qf {

class ArenaPlanner {
 public:
  int acquire(size_t bytes);
  void release(int id);  // again for the same id: no effect
  // Assigns offsets; call once, after the last acquire/release.
  void place();
  size_t offset(int id) const { return offset_.at(static_cast<size_t>(id)); }
  size_t total() const { return total_; }  // bytes the arena needs
  // The most bytes alive at one tick: the lower bound any placement needs.
  size_t peak_live() const;

 private:
  std::vector<size_t> size_, offset_;
  std::vector<long> start_, end_;  // end: tick of release (never released: after every tick)
  long clock_ = 0;
  size_t total_ = 0;
};

}  // namespace qf
