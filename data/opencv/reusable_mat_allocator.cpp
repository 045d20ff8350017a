// ReusableMatAllocator (contract: reusable_mat_allocator.h). The step computation mirrors OpenCV's
// StdMatAllocator (modules/core/src/matrix.cpp) for the case it serves: no user data, automatic
// steps, so the block holds the Mat continuously.
#include "data/opencv/reusable_mat_allocator.h"

#include <new>

namespace qf {

ReusableMatAllocator::~ReusableMatAllocator() {
  // A Mat still holding the block here would be a use-after-free later: a broken ownership rule
  // (see the header), which a destructor can only stop from getting worse.
  if (!in_use_) cv::fastFree(block_);
}

cv::UMatData* ReusableMatAllocator::allocate(int dims, const int* sizes, int type, void* data,
                                             size_t* step, cv::AccessFlag flags,
                                             cv::UMatUsageFlags usage) const {
  if (data != nullptr || in_use_) {
    ++fallbacks_;
    return cv::Mat::getStdAllocator()->allocate(dims, sizes, type, data, step, flags, usage);
  }
  size_t total = CV_ELEM_SIZE(type);
  for (int i = dims - 1; i >= 0; --i) {
    if (step) step[i] = total;
    total *= static_cast<size_t>(sizes[i]);
  }
  if (total > capacity_) {
    cv::fastFree(block_);
    block_ = nullptr;
    capacity_ = 0;
    const size_t grown = total + total / 4;
    block_ = cv::fastMalloc(grown);  // throws cv::Exception when out of memory
    capacity_ = grown;
    ++growths_;
  }
  auto* u = new (header_) cv::UMatData(this);
  u->data = u->origdata = static_cast<uchar*>(block_);
  u->size = total;
  in_use_ = true;
  return u;
}

bool ReusableMatAllocator::allocate(cv::UMatData* data, cv::AccessFlag, cv::UMatUsageFlags) const {
  return data != nullptr;
}

void ReusableMatAllocator::deallocate(cv::UMatData* u) const {
  if (u == nullptr) return;
  if (static_cast<void*>(u) != static_cast<void*>(header_)) {
    cv::Mat::getStdAllocator()->deallocate(u);
    return;
  }
  // OpenCV calls this only once the last Mat let go (refcount 0); Mat destructors call it, so it
  // must not throw.
  u->~UMatData();
  in_use_ = false;
}

}  // namespace qf
