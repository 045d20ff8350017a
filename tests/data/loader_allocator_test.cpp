// DataLoader and LoaderOptions::allocator: every batch buffer comes from the given allocator (on a
// GPU run, the CUDA backend's pinned host allocator, so batches are copied to the device by DMA),
// allocated once at construction — prefetch + 1 slots of images and labels — and every batch
// handed out, full or partial, lies inside those blocks; all of them are returned on destruction.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "data/loader.h"
#include "tests/data/fake_dataset.h"

namespace qf {
namespace {

class RecordingAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    live_[p] = bytes;
    ++allocations_;
    return p;
  }
  void deallocate(void* p, size_t bytes) override {
    EXPECT_EQ(live_.at(p), bytes);
    live_.erase(p);
    std::free(p);
  }
  Device device() const override { return Device::cpu(); }

  // Whether [p, p + bytes) lies inside one live block.
  bool owns(const void* p, size_t bytes) const {
    for (const auto& [base, size] : live_) {
      const auto* b = static_cast<const char*>(base);
      const auto* q = static_cast<const char*>(p);
      if (q >= b && q + bytes <= b + size) return true;
    }
    return false;
  }
  int allocations() const { return allocations_; }
  size_t live() const { return live_.size(); }

 private:
  std::map<void*, size_t> live_;
  int allocations_ = 0;
};

TEST(DataLoaderAllocator, BatchBuffersComeFromTheGivenAllocator) {
  for (int workers : {0, 2}) {
    RecordingAllocator alloc;
    {
      const int64_t n = 29;  // 3 full batches of 8 and one of 5
      const test::FakeDataset data(n);
      const ShuffleSampler sampler(n, 3);
      LoaderOptions o;
      o.batch_size = 8;
      o.workers = workers;
      o.prefetch = 3;
      o.drop_last = false;
      o.allocator = &alloc;
      DataLoader loader(data, sampler, o);
      const int slots = workers == 0 ? 1 : o.prefetch + 1;
      EXPECT_EQ(alloc.allocations(), 2 * slots) << workers << " workers";
      loader.start_epoch(0);
      Batch b;
      int batches = 0;
      while (loader.next(b)) {
        ++batches;
        EXPECT_TRUE(alloc.owns(b.images.raw(), b.images.nbytes()));
        EXPECT_TRUE(alloc.owns(b.labels.raw(), b.labels.nbytes()));
      }
      EXPECT_EQ(batches, 4);
      EXPECT_EQ(b.size, 5);
      EXPECT_EQ(alloc.allocations(), 2 * slots);  // nothing more while delivering
    }
    EXPECT_EQ(alloc.live(), 0u) << "batch memory not returned, " << workers << " workers";
  }
}

}  // namespace
}  // namespace qf
