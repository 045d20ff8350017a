// Tensor shapes. Logical shapes follow PyTorch/ONNX: activations are (N, C, H, W) and weights
// (O, I, kH, kW). How 4-D activations sit in memory is fixed separately (see nn/layout.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qf {

using Shape = std::vector<int64_t>;

inline int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s);

}  // namespace qf
