// Tensor shapes. Logical shapes follow PyTorch/ONNX: activations are (N, C, H, W) and weights
// (O, I, kH, kW). How 4-D activations sit in memory is fixed separately (see nn/layout.h).
//
// Element counts are int64. Dimensions that come from a file or a config (an ONNX model, a
// safetensors header, an idx header) go through the checked functions below, so that a product
// that does not fit is an error instead of a wrapped, negative or small count that later indexes
// out of bounds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qf {

using Shape = std::vector<int64_t>;

// The product of the dimensions. Only for shapes already known to be valid (non-negative, product
// in range): every shape that reached a Tensor or a graph value.
inline int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// a * b, or nothing when the product does not fit in int64.
inline std::optional<int64_t> checked_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// The product of the dimensions, or nothing when a dimension is negative or the product does not
// fit in int64.
std::optional<int64_t> checked_numel(const Shape& s);

// The product of the dimensions when every dimension is >= 0 and the product is at most `limit`;
// else an InputError "<what>: shape (…) …" saying which rule it breaks.
int64_t numel_within(const Shape& s, int64_t limit, const std::string& what);

std::string shape_str(const Shape& s);

}  // namespace qf
