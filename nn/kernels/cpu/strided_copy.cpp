// Strided copies (contract in nn/kernels/cpu/strided_copy.h).
#include "nn/kernels/cpu/strided_copy.h"

#include <cstring>

namespace qf {
namespace {

template <class T>
void move_elements(const char* from, char* to, int64_t n, int64_t from_step, int64_t to_step) {
  const T* a = reinterpret_cast<const T*>(from);
  T* b = reinterpret_cast<T*>(to);
  for (int64_t i = 0; i < n; ++i) b[i * to_step] = a[i * from_step];
}

// n elements of `elem` bytes, element i of `from` at i * from_step, of `to` at i * to_step.
void move(const char* from, char* to, int64_t n, int64_t from_step, int64_t to_step, size_t elem) {
  if (from_step == 1 && to_step == 1) return void(std::memcpy(to, from, static_cast<size_t>(n) * elem));
  switch (elem) {
    case 1: return move_elements<uint8_t>(from, to, n, from_step, to_step);
    case 2: return move_elements<uint16_t>(from, to, n, from_step, to_step);
    case 4: return move_elements<uint32_t>(from, to, n, from_step, to_step);
    default: return move_elements<uint64_t>(from, to, n, from_step, to_step);
  }
}

// Walks the outer dimensions (all but the innermost) and moves one innermost row per position:
// `to_s` says whether S is the destination (scatter) or the source (gather).
void run(const char* src, char* dst, const StridedMap& m, size_t elem, bool to_s) {
  const StridedMap c = coalesce(m);
  if (c.dims.empty()) {  // a single element
    const int64_t o = c.base * static_cast<int64_t>(elem);
    std::memcpy(to_s ? dst + o : dst, to_s ? src : src + o, elem);
    return;
  }
  const size_t k = c.dims.size();
  const int64_t inner = c.dims[k - 1], step = c.strides[k - 1];
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < k; ++d) rows *= c.dims[d];
  const auto e = static_cast<int64_t>(elem);
#pragma omp parallel for schedule(static) if (rows * inner > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t off = c.base, rem = r;
    for (size_t d = k - 1; d-- > 0;) {
      off += (rem % c.dims[d]) * c.strides[d];
      rem /= c.dims[d];
    }
    if (to_s)
      move(src + r * inner * e, dst + off * e, inner, 1, step, elem);
    else
      move(src + off * e, dst + r * inner * e, inner, step, 1, elem);
  }
}

}  // namespace

StridedMap coalesce(const StridedMap& m) {
  StridedMap c;
  c.base = m.base;
  for (size_t d = 0; d < m.dims.size(); ++d) {
    if (m.dims[d] == 1) continue;
    // The previous dimension steps over exactly this one's extent: one dimension.
    if (!c.dims.empty() && c.strides.back() == m.strides[d] * m.dims[d]) {
      c.dims.back() *= m.dims[d];
      c.strides.back() = m.strides[d];
      continue;
    }
    c.dims.push_back(m.dims[d]);
    c.strides.push_back(m.strides[d]);
  }
  return c;
}

void strided_gather(const void* s, void* d, const StridedMap& m, size_t elem) {
  run(static_cast<const char*>(s), static_cast<char*>(d), m, elem, false);
}

void strided_scatter(const void* d, void* s, const StridedMap& m, size_t elem) {
  run(static_cast<const char*>(d), static_cast<char*>(s), m, elem, true);
}

std::vector<int64_t> memory_axis_order(size_t rank) {
  if (rank == 4) return {0, 2, 3, 1};
  std::vector<int64_t> o(rank);
  for (size_t i = 0; i < rank; ++i) o[i] = static_cast<int64_t>(i);
  return o;
}

std::vector<int64_t> logical_strides(const std::vector<int64_t>& s) {
  const std::vector<int64_t> order = memory_axis_order(s.size());
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t k = s.size(); k-- > 0;) {
    st[order[k]] = acc;
    acc *= s[order[k]];
  }
  return st;
}

}  // namespace qf
