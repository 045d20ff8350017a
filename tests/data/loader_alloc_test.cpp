// DataLoader's memory contract: after construction (and once the Batch handed to next() has held
// a batch), delivering batches allocates nothing, on the consumer thread or on the workers.
// This file replaces the global operator new of the test_data program with a counting one.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "data/loader.h"
#include "tests/data/fake_dataset.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t bytes) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(bytes ? bytes : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace qf {
namespace {

using test::FakeDataset;

// Allocations made while draining the rest of an epoch whose first batch was already taken.
long allocations_while_draining(int workers, int prefetch, bool drop_last) {
  const int64_t n = 203;  // 25 full batches of 8 and one of 3
  const FakeDataset data(n, -1, 20);
  const ShuffleSampler sampler(n, 4);
  LoaderOptions o;
  o.batch_size = 8;
  o.workers = workers;
  o.prefetch = prefetch;
  o.drop_last = drop_last;
  DataLoader loader(data, sampler, o);
  loader.start_epoch(1);
  Batch b;
  bool ok = loader.next(b);
  const long before = g_allocations.load();
  int64_t count = 1;
  while (loader.next(b)) ++count;
  const long after = g_allocations.load();
  EXPECT_TRUE(ok);
  EXPECT_EQ(count, drop_last ? 25 : 26);
  return after - before;
}

TEST(DataLoaderMemory, CountingAllocatorSeesAllocations) {
  const long before = g_allocations.load();
  void* volatile p = ::operator new(16);  // a direct call, which the compiler may not elide
  ::operator delete(p);
  EXPECT_EQ(g_allocations.load() - before, 1);
}

TEST(DataLoaderMemory, NextAllocatesNothing) {
  for (int workers : {0, 1, 3}) {
    for (int prefetch : {1, 4}) {
      for (bool drop_last : {true, false}) {
        EXPECT_EQ(allocations_while_draining(workers, prefetch, drop_last), 0)
            << "workers " << workers << " prefetch " << prefetch << " drop_last " << drop_last;
      }
    }
  }
}

}  // namespace
}  // namespace qf
