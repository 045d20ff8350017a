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

// The process's host allocator. Stateless (it forwards to aligned_alloc), so sharing it is safe.
Allocator& cpu_allocator();

}  // namespace qf
