// CachingAllocator (the logic behind the CUDA backend's device and pinned allocators), tested over
// a counting host backend: size classes, reuse without new backing allocations, the retry after
// releasing the cache, the out-of-memory error, statistics, and concurrent use.
#include "nn/caching_allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>
#include <vector>

#include "nn/error.h"

namespace qf {
namespace {

class CountingBackend final : public RawAllocator {
 public:
  explicit CountingBackend(size_t capacity, int* live) : capacity_(capacity), live_(live) {}
  void* raw_allocate(size_t bytes) override {
    if (used_ + bytes > capacity_) return nullptr;
    used_ += bytes;
    ++*live_;
    sizes_.push_back({std::malloc(bytes), bytes});
    return sizes_.back().first;
  }
  void raw_free(void* p) override {
    for (auto it = sizes_.begin(); it != sizes_.end(); ++it)
      if (it->first == p) {
        used_ -= it->second;
        sizes_.erase(it);
        break;
      }
    --*live_;
    std::free(p);
  }
  Device device() const override { return Device::cpu(); }
  std::string name() const override { return "test memory"; }

 private:
  size_t capacity_, used_ = 0;
  int* live_;
  std::vector<std::pair<void*, size_t>> sizes_;
};

TEST(CachingAllocator, RoundsToSizeClasses) {
  EXPECT_EQ(CachingAllocator::round_size(0), 512u);
  EXPECT_EQ(CachingAllocator::round_size(1), 512u);
  EXPECT_EQ(CachingAllocator::round_size(513), 1024u);
  EXPECT_EQ(CachingAllocator::round_size((1 << 20) - 1), size_t{1} << 20);
  EXPECT_EQ(CachingAllocator::round_size((1 << 20) + 1), size_t{2} << 20);
  EXPECT_EQ(CachingAllocator::round_size((3 << 20) + 5), size_t{4} << 20);
}

TEST(CachingAllocator, ReusesFreedBlocksWithoutNewBackingAllocations) {
  int live = 0;
  CachingAllocator a(std::make_unique<CountingBackend>(size_t{1} << 30, &live));
  // A "step" that allocates and frees the same sizes: only the first asks the backend.
  const std::vector<size_t> sizes = {100, 4000, 3 << 20, 700, 100};
  for (int step = 0; step < 4; ++step) {
    std::vector<void*> ps;
    for (size_t s : sizes) ps.push_back(a.allocate(s));
    for (size_t i = 0; i < ps.size(); ++i) a.deallocate(ps[i], sizes[i]);
    EXPECT_EQ(a.stats().raw_allocations, 5) << "step " << step;
  }
  EXPECT_EQ(a.stats().in_use_bytes, 0u);
  EXPECT_EQ(a.stats().peak_in_use_bytes, 512u + 4096u + (4u << 20) + 1024u + 512u);
  // A block up to a quarter larger serves a request; a much larger one does not.
  void* big = a.allocate(5 << 20);  // class 6 MiB, the cached 4 MiB block is too small
  EXPECT_EQ(a.stats().raw_allocations, 6);
  a.deallocate(big, 5 << 20);
  void* p = a.allocate(3500);  // class 3584: the cached 4096 block is within a quarter
  EXPECT_EQ(a.stats().raw_allocations, 6);
  a.deallocate(p, 3500);
  a.release_cached();
  EXPECT_EQ(live, 0);
  EXPECT_EQ(a.stats().reserved_bytes, 0u);
}

TEST(CachingAllocator, ReleasesTheCacheBeforeReportingOutOfMemory) {
  int live = 0;
  CachingAllocator a(std::make_unique<CountingBackend>(8 << 20, &live));
  void* p = a.allocate(6 << 20);
  a.deallocate(p, 6 << 20);       // cached, 6 MiB of 8 held
  void* q = a.allocate(3 << 20);  // class 4 MiB: does not fit beside the cached block
  EXPECT_EQ(a.stats().raw_frees, 1);
  EXPECT_EQ(live, 1);
  try {
    a.allocate(6 << 20);
    ADD_FAILURE() << "expected out of memory";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("out of memory on test memory"), std::string::npos)
        << e.what();
  }
  a.deallocate(q, 3 << 20);
}

TEST(CachingAllocator, RejectsUnknownBlocks) {
  int live = 0;
  CachingAllocator a(std::make_unique<CountingBackend>(1 << 20, &live));
  int x = 0;
  EXPECT_THROW(a.deallocate(&x, 4), InternalError);
}

TEST(CachingAllocator, ServesThreadsConcurrently) {
  int live = 0;
  CachingAllocator a(std::make_unique<CountingBackend>(size_t{1} << 30, &live));
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&a, t] {
      for (int i = 0; i < 500; ++i) {
        const size_t n = 64 + static_cast<size_t>((i * 37 + t) % 5000);
        void* p = a.allocate(n);
        static_cast<char*>(p)[0] = 1;
        a.deallocate(p, n);
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(a.stats().in_use_bytes, 0u);
  EXPECT_LE(a.stats().raw_allocations, 4 * 10);  // at most a few blocks per thread and class
}

}  // namespace
}  // namespace qf
