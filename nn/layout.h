// Memory layout convention, fixed for every device:
//
//   A 4-D *activation* with logical shape (N, C, H, W) is stored channels-last, i.e. the element
//   (n, c, h, w) is at ((n * H + h) * W + w) * C + c.  Parameters keep their canonical layout:
//   conv weights (O, I/g, kH, kW) row-major, linear weights (out, in) row-major, vectors as is.
//
// Why: oneDNN's and cuDNN's fast convolution, batch-norm and int8 paths all run on channels-last
// data without reorders (measured on this 2-core AVX-512 machine with oneDNN 2.6: MobileNetV1
// forward+backward convolutions run 3.5x faster in NHWC than in NCHW), and per-channel ops
// (batch-norm, bias, squeeze-excitation scaling) get a contiguous inner loop over channels.
// Tensors of rank != 4 are row-major. A (N, C, 1, 1) tensor has the same bytes in both layouts,
// which is why global pooling, flatten before a classifier and SE broadcasts cost nothing.
//
// Which inputs of an op are activations and which are parameters is fixed by the op (a conv's
// input 0 is an activation, input 1 its weight), so no per-tensor layout flag is needed.
#pragma once

#include <cstdint>
#include <vector>

namespace qf {

// Offset of logical (n, c, h, w) in a channels-last (N, C, H, W) tensor.
inline int64_t nhwc_offset(int64_t n, int64_t c, int64_t h, int64_t w, int64_t C, int64_t H,
                           int64_t W) {
  return ((n * H + h) * W + w) * C + c;
}

// Offset of the element at logical index `idx` in a tensor of logical shape `s`, whatever its rank
// (4-D channels-last, other ranks row-major).
inline int64_t logical_offset(const std::vector<int64_t>& s, const std::vector<int64_t>& idx) {
  if (s.size() == 4) return nhwc_offset(idx[0], idx[1], idx[2], idx[3], s[1], s[2], s[3]);
  int64_t o = 0;
  for (size_t d = 0; d < s.size(); ++d) o = o * s[d] + idx[d];
  return o;
}

}  // namespace qf
