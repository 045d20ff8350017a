// Test helpers for channels-last tensors: convert between a logical (N, C, H, W) row-major tensor
// (how hand-computed cases are easiest to write) and the channels-last memory kernels use.
#pragma once

#include "nn/layout.h"
#include "nn/tensor.h"

namespace qf::test {

// `logical` is row-major (N, C, H, W) float; returns the same values stored channels-last.
inline Tensor nhwc_from_nchw(const Tensor& logical) {
  const Shape& s = logical.shape();
  Tensor r = Tensor::empty(s, DType::f32);
  const float* a = logical.data<float>();
  float* b = r.data<float>();
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t h = 0; h < s[2]; ++h)
        for (int64_t w = 0; w < s[3]; ++w)
          b[nhwc_offset(n, c, h, w, s[1], s[2], s[3])] = a[((n * s[1] + c) * s[2] + h) * s[3] + w];
  return r;
}

inline Tensor nhwc(const Shape& s, const std::vector<float>& logical_values) {
  return nhwc_from_nchw(Tensor::from(s, logical_values));
}

// Element (n, c, h, w) of a channels-last float tensor.
inline float at_nchw(const Tensor& t, int64_t n, int64_t c, int64_t h, int64_t w) {
  return t.data<float>()[nhwc_offset(n, c, h, w, t.dim(1), t.dim(2), t.dim(3))];
}

}  // namespace qf::test
