// Channels-last <-> logical order for 4-D activations (nn/layout.h), shared by the ops that must see
// elements in logical (n, c, h, w) order: flatten, reshape.
//
// Both directions are a batch of 2-D transposes: a sample of a channels-last (N, C, H, W) tensor is
// an (H*W, C) matrix, the same sample in logical order is its (C, H*W) transpose. The kernels below
// are cache-blocked (32 x 32 tiles) and threaded over samples and tiles; they work on any element
// type by size, so they serve float activations and int8 quantized ones alike.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace qf {

// For each of `batch` matrices: dst (cols, rows) = transpose of src (rows, cols).
template <class T>
void batched_transpose(const T* src, T* dst, int64_t batch, int64_t rows, int64_t cols) {
  constexpr int64_t B = 32;
  const int64_t rb = (rows + B - 1) / B, cb = (cols + B - 1) / B;
#pragma omp parallel for collapse(3) schedule(static) if (batch * rows * cols > 32768)
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t i = 0; i < rb; ++i)
      for (int64_t j = 0; j < cb; ++j) {
        const T* s = src + n * rows * cols;
        T* d = dst + n * rows * cols;
        const int64_t r1 = std::min(rows, (i + 1) * B), c1 = std::min(cols, (j + 1) * B);
        for (int64_t c = j * B; c < c1; ++c)
          for (int64_t r = i * B; r < r1; ++r) d[c * rows + r] = s[r * cols + c];
      }
}

// The same for an element type known only by its size in bytes (1, 2, 4 or 8).
inline void batched_transpose_bytes(const void* src, void* dst, size_t elem, int64_t batch,
                                    int64_t rows, int64_t cols) {
  switch (elem) {
    case 1:
      return batched_transpose(static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst), batch,
                               rows, cols);
    case 2:
      return batched_transpose(static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst),
                               batch, rows, cols);
    case 4:
      return batched_transpose(static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst),
                               batch, rows, cols);
    default:
      return batched_transpose(static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst),
                               batch, rows, cols);
  }
}

}  // namespace qf
