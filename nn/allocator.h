// Memory for tensors. The CPU allocator hands out 64-byte aligned host memory; the CUDA backend
// provides a caching device allocator (and a pinned host one) behind the same interface.
#pragma once

#include <cstddef>

#include "nn/device.h"

namespace qf {

class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p, size_t bytes) = 0;
  virtual Device device() const = 0;
};

// The process's host allocator. It forwards to aligned_alloc and counts bytes (thread-safe), so
// sharing it is safe.
Allocator& cpu_allocator();

// Bytes the host allocator has handed out and not taken back (sizes as asked, before its 64-byte
// rounding), now and at most since the last reset: what the memory benchmark and the planner's
// accounting test measure.
struct AllocationStats {
  size_t in_use = 0;
  size_t peak = 0;
};
AllocationStats cpu_allocation_stats();
void reset_cpu_allocation_peak();  // peak = in_use

}  // namespace qf
