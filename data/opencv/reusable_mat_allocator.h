// ReusableMatAllocator: a cv::MatAllocator for one scratch cv::Mat that is re-created again and
// again at varying sizes (the decoded image of each sample, the resized image of each sample).
//
// OpenCV frees and mallocs a Mat's buffer whenever create() asks for a different size. For a
// 500x375 RGB image that is a 560 KB block per sample: past glibc's mmap threshold at first, and
// on worker threads' arenas a trim/fault cycle per image. This allocator instead keeps a single
// grow-only block (64-byte aligned, grown to 1.25x the request when too small) and hands it out
// again, with its UMatData header built in place in the allocator, so a steady stream of images
// costs no heap traffic for these buffers. It serves one live allocation at a time: a request while
// its block is in use (a second Mat sharing the allocator, or user-provided data) is passed to
// OpenCV's standard allocator, which then also frees it. Not thread-safe: one per thread.
//
// The allocator must outlive every Mat that uses it (declare it before those Mats).
#pragma once

#include <cstddef>
#include <cstdint>
#include <opencv2/core/mat.hpp>

namespace qf {

class ReusableMatAllocator final : public cv::MatAllocator {
 public:
  ReusableMatAllocator() = default;
  ~ReusableMatAllocator() override;
  ReusableMatAllocator(const ReusableMatAllocator&) = delete;
  ReusableMatAllocator& operator=(const ReusableMatAllocator&) = delete;

  cv::UMatData* allocate(int dims, const int* sizes, int type, void* data, size_t* step,
                         cv::AccessFlag flags, cv::UMatUsageFlags usage) const override;
  bool allocate(cv::UMatData* data, cv::AccessFlag flags, cv::UMatUsageFlags usage) const override;
  void deallocate(cv::UMatData* data) const override;

  // How often the block had to grow (the rest of the allocations reused it), and its size.
  int64_t growths() const { return growths_; }
  size_t capacity() const { return capacity_; }
  // Requests passed on to OpenCV's standard allocator.
  int64_t fallbacks() const { return fallbacks_; }

 private:
  mutable void* block_ = nullptr;
  mutable size_t capacity_ = 0;
  mutable bool in_use_ = false;
  mutable int64_t growths_ = 0;
  mutable int64_t fallbacks_ = 0;
  alignas(cv::UMatData) mutable unsigned char header_[sizeof(cv::UMatData)];
};

}  // namespace qf
