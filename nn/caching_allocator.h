// CachingAllocator: an Allocator that keeps freed blocks in free lists by size and hands them out
// again, so a program that allocates the same sizes step after step asks its backing allocator
// (cudaMalloc, cudaHostAlloc — slow, and synchronising on a GPU) only while its first step runs.
// The CUDA backend puts one in front of device memory and one in front of pinned host memory;
// the logic is device-agnostic and tested on the CPU (tests/nn/caching_allocator_test.cpp).
//
// Size classes: a request is rounded up to a multiple of 512 bytes below 1 MiB and to a multiple
// of 2 MiB from 1 MiB on. A request takes the smallest free block of its class or up to a quarter
// larger; otherwise a new block comes from the backing allocator. When that fails, every free
// block is returned to it and the request tried once more; failing again is an InputError that
// says how much was asked for and how much is in use (the batch is too large for the device).
//
// Stream order: blocks are reused as soon as they are freed on the host. On a GPU that is safe
// when every kernel runs on the one stream of the context the memory belongs to (work enqueued
// later runs later); memory shared with another stream must stay alive until that stream is done.
// Thread-safe (the data loader's workers allocate pinned batches from their own threads).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "nn/allocator.h"

namespace qf {

// Where a CachingAllocator gets memory from.
class RawAllocator {
 public:
  virtual ~RawAllocator() = default;
  virtual void* raw_allocate(size_t bytes) = 0;  // null when out of memory
  virtual void raw_free(void* p) = 0;
  virtual Device device() const = 0;
  virtual std::string name() const = 0;  // for messages: "cuda:0 device memory"
};

class CachingAllocator final : public Allocator {
 public:
  struct Stats {
    int64_t raw_allocations = 0;  // calls to the backing allocator that succeeded
    int64_t raw_frees = 0;
    size_t reserved_bytes = 0;  // held from the backing allocator (in use + cached)
    size_t in_use_bytes = 0;    // handed out (rounded sizes)
    size_t peak_in_use_bytes = 0;
  };

  explicit CachingAllocator(std::unique_ptr<RawAllocator> raw);
  ~CachingAllocator() override;

  void* allocate(size_t bytes) override;
  void deallocate(void* p, size_t bytes) override;
  Device device() const override { return raw_->device(); }

  // Returns every cached (free) block to the backing allocator.
  void release_cached();
  Stats stats() const;

  // The size class a request of `bytes` is rounded up to.
  static size_t round_size(size_t bytes);

 private:
  void release_cached_locked();

  std::unique_ptr<RawAllocator> raw_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> free_;         // size -> block
  std::unordered_map<void*, size_t> in_use_;  // block -> size
  Stats stats_;
};

}  // namespace qf
