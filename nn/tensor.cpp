#include "nn/tensor.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <charconv>
#include <cstdlib>
#include <new>
#include <sstream>

namespace qf {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i8: return "int8";
    case DType::u8: return "uint8";
    case DType::i16: return "int16";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
  }
  return "?";
}

DType parse_dtype(const std::string& name) {
  for (DType t : {DType::f32, DType::f64, DType::i8, DType::u8, DType::i16, DType::i32, DType::i64})
    if (name == dtype_name(t)) return t;
  throw_input_error("unknown dtype '", name,
                    "' (allowed: float32, float64, int8, uint8, int16, int32, int64)");
}

std::string Device::str() const {
  return kind == DeviceKind::cpu ? std::string("cpu") : "cuda:" + std::to_string(index);
}

Device parse_device(const std::string& s) {
  if (s == "cpu") return Device::cpu();
  if (s == "cuda") return Device::cuda(0);
  if (s.rfind("cuda:", 0) == 0) {
    int n = 0;
    const char* end = s.data() + s.size();
    const auto r = std::from_chars(s.data() + 5, end, n);
    if (r.ec == std::errc() && r.ptr == end && s[5] != '-') return Device::cuda(n);
  }
  throw_input_error("device: '", s, "' is not a device (allowed: cpu, cuda, cuda:N)");
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

std::optional<int64_t> checked_numel(const Shape& s) {
  for (int64_t d : s)
    if (d < 0) return std::nullopt;
  // Multiplied in numel()'s order: when this product fits, numel() never overflows either.
  int64_t n = 1;
  for (int64_t d : s) {
    const std::optional<int64_t> p = checked_mul(n, d);
    if (!p) return std::nullopt;
    n = *p;
  }
  return n;
}

int64_t numel_within(const Shape& s, int64_t limit, const std::string& what) {
  for (int64_t d : s)
    if (d < 0) throw_input_error(what, ": shape ", shape_str(s), " has a negative dimension");
  const std::optional<int64_t> n = checked_numel(s);
  if (!n || *n > limit)
    throw_input_error(what, ": shape ", shape_str(s), " has more than ", limit,
                      " elements (the limit for such a tensor)");
  return *n;
}

namespace {
std::atomic<size_t> cpu_in_use{0}, cpu_peak{0};

class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    const size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    if (!p) throw std::bad_alloc();
    const size_t now = cpu_in_use.fetch_add(bytes) + bytes;
    size_t peak = cpu_peak.load();
    while (now > peak && !cpu_peak.compare_exchange_weak(peak, now)) {
    }
    return p;
  }
  void deallocate(void* p, size_t bytes) override {
    std::free(p);
    cpu_in_use.fetch_sub(bytes);
  }
  Device device() const override { return Device::cpu(); }
};
}  // namespace

Allocator& cpu_allocator() {
  static CpuAllocator alloc;
  return alloc;
}

AllocationStats cpu_allocation_stats() { return {cpu_in_use.load(), cpu_peak.load()}; }

void reset_cpu_allocation_peak() { cpu_peak.store(cpu_in_use.load()); }

Storage::Storage(size_t bytes, Allocator& alloc) : bytes_(bytes), alloc_(&alloc) {
  data_ = alloc.allocate(bytes);
}

Storage::~Storage() { alloc_->deallocate(data_, bytes_); }

Tensor Tensor::empty(const Shape& shape, DType dtype, Allocator& alloc) {
  const std::optional<int64_t> n = checked_numel(shape);
  QF_CHECK(n && checked_mul(*n, static_cast<int64_t>(dtype_size(dtype))),
           "tensor shape ", shape_str(shape), " has a negative dimension or too many elements");
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = std::make_shared<Storage>(t.nbytes(), alloc);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::from(const Shape& shape, const std::vector<float>& values) {
  QF_CHECK(static_cast<int64_t>(values.size()) == qf::numel(shape), "value count ", values.size(),
           " does not match shape ", shape_str(shape));
  Tensor t = empty(shape, DType::f32);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

Tensor Tensor::view(size_t byte_offset, const Shape& shape, DType dtype) const {
  QF_CHECK(storage_, "view of an undefined tensor");
  Tensor t;
  t.storage_ = storage_;
  t.offset_ = offset_ + byte_offset;
  t.shape_ = shape;
  t.dtype_ = dtype;
  QF_CHECK(t.offset_ + t.nbytes() <= storage_->bytes(), "view out of range");
  return t;
}

Tensor Tensor::reshape(const Shape& shape) const {
  QF_CHECK(qf::numel(shape) == numel(), "reshape ", shape_str(shape_), " -> ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

void Tensor::fill(float v) const {
  QF_CHECK(device().is_cpu() && dtype_ == DType::f32, "fill needs a host float32 tensor");
  std::fill_n(data<float>(), numel(), v);
}

Tensor Tensor::clone() const {
  QF_CHECK(device().is_cpu(), "clone of a device tensor");
  Tensor t = empty(shape_, dtype_);
  std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

void Tensor::copy_from(const Tensor& src) const {
  QF_CHECK(device().is_cpu() && src.device().is_cpu(), "host copy of a device tensor");
  QF_CHECK(src.dtype() == dtype_ && src.numel() == numel(), "copy ", shape_str(src.shape()), " ",
           dtype_name(src.dtype()), " into ", shape_str(shape_), " ", dtype_name(dtype_));
  std::memcpy(raw(), src.raw(), nbytes());
}

int64_t first_nonfinite(const Tensor& t) {
  QF_CHECK(t.device().is_cpu(), "first_nonfinite reads host tensors");
  const int64_t n = t.numel();
  if (t.dtype() == DType::f32) {
    const float* p = t.data<float>();
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(p[i])) return i;
  } else if (t.dtype() == DType::f64) {
    const double* p = t.data<double>();
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(p[i])) return i;
  }
  return -1;
}

}  // namespace qf
