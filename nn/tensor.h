// Tensor: a typed, shaped, contiguous view into reference-counted storage on one device.
//
// Tensors are handles: copying a Tensor shares the storage. All tensors are contiguous; `view`
// makes a sub-range of the same storage (how the parameter arena hands out named views). Layout
// of 4-D activations: nn/layout.h.
#pragma once

#include <cstring>
#include <memory>

#include "nn/allocator.h"
#include "nn/dtype.h"
#include "nn/error.h"
#include "nn/shape.h"

namespace qf {

class Storage {
 public:
  Storage(size_t bytes, Allocator& alloc);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return alloc_->device(); }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Allocator* alloc_;
};

class Tensor {
 public:
  Tensor() = default;

  // Uninitialised memory.
  static Tensor empty(const Shape& shape, DType dtype, Allocator& alloc = cpu_allocator());
  // Zero-filled host tensor (device tensors are zeroed through the backend).
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  // A host f32 tensor holding `values`.
  static Tensor from(const Shape& shape, const std::vector<float>& values);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[i < 0 ? i + rank() : i]; }
  int64_t numel() const { return qf::numel(shape_); }
  DType dtype() const { return dtype_; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }

  void* raw() const {
    return storage_ ? static_cast<char*>(storage_->data()) + offset_ : nullptr;
  }
  template <class T>
  T* data() const {
    QF_CHECK(dtype_of<T>::value == dtype_, "tensor holds ", dtype_name(dtype_), ", asked for ",
             dtype_name(dtype_of<T>::value));
    return static_cast<T*>(raw());
  }

  // Same storage, `shape` elements of `dtype` starting `byte_offset` bytes into this tensor.
  Tensor view(size_t byte_offset, const Shape& shape, DType dtype) const;
  // Same storage and dtype, new shape with the same element count.
  Tensor reshape(const Shape& shape) const;

  // Host-only helpers (tests, IO, metrics). Device code goes through the backend.
  void fill(float v) const;
  Tensor clone() const;
  void copy_from(const Tensor& src) const;  // same device (host), dtype and element count

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
  Shape shape_;
  DType dtype_ = DType::f32;
};

// The index of the first NaN or infinite element of a host float tensor (f32, f64), or -1 when
// every element is finite or the tensor holds integers. Readers of weights, scales and inputs
// use it to refuse non-finite data with the tensor's name.
int64_t first_nonfinite(const Tensor& t);

}  // namespace qf
