#include "nn/caching_allocator.h"

#include <algorithm>

#include "nn/error.h"

namespace qf {
namespace {

constexpr size_t kSmallQuantum = 512;
constexpr size_t kLargeThreshold = size_t{1} << 20;
constexpr size_t kLargeQuantum = size_t{2} << 20;

std::string mib(size_t bytes) {
  return str_cat(static_cast<double>(bytes) / static_cast<double>(1 << 20), " MiB");
}

}  // namespace

CachingAllocator::CachingAllocator(std::unique_ptr<RawAllocator> raw) : raw_(std::move(raw)) {}

CachingAllocator::~CachingAllocator() {
  // Blocks still in use belong to tensors that outlive the allocator; they go with the process.
  release_cached_locked();
}

size_t CachingAllocator::round_size(size_t bytes) {
  bytes = std::max<size_t>(bytes, 1);
  const size_t q = bytes < kLargeThreshold ? kSmallQuantum : kLargeQuantum;
  return (bytes + q - 1) / q * q;
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t want = round_size(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  void* p = nullptr;
  size_t got = want;
  auto it = free_.lower_bound(want);
  if (it != free_.end() && it->first <= want + want / 4) {
    got = it->first;
    p = it->second;
    free_.erase(it);
  } else {
    p = raw_->raw_allocate(want);
    if (!p && !free_.empty()) {
      release_cached_locked();
      p = raw_->raw_allocate(want);
    }
    if (!p)
      throw_input_error("out of memory on ", raw_->name(), ": a tensor of ", mib(want),
                        " does not fit with ", mib(stats_.in_use_bytes),
                        " in use (lower data.batch_size)");
    ++stats_.raw_allocations;
    stats_.reserved_bytes += want;
  }
  in_use_.emplace(p, got);
  stats_.in_use_bytes += got;
  stats_.peak_in_use_bytes = std::max(stats_.peak_in_use_bytes, stats_.in_use_bytes);
  return p;
}

void CachingAllocator::deallocate(void* p, size_t) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_use_.find(p);
  QF_CHECK(it != in_use_.end(), "deallocate of a block this allocator did not hand out");
  free_.emplace(it->second, p);
  stats_.in_use_bytes -= it->second;
  in_use_.erase(it);
}

void CachingAllocator::release_cached() {
  std::lock_guard<std::mutex> lock(mu_);
  release_cached_locked();
}

void CachingAllocator::release_cached_locked() {
  for (auto& [size, p] : free_) {
    raw_->raw_free(p);
    ++stats_.raw_frees;
    stats_.reserved_bytes -= size;
  }
  free_.clear();
}

CachingAllocator::Stats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace qf
