// Fake-quant test inputs, shared by fake_quant_cases.cpp and the GPU's multi-step tests
// (tests/cuda/fake_quant_test.cpp).
#pragma once

#include <string>

#include "tests/op_check.h"

namespace qf::test {

inline Tensor filled(const Shape& s, float v) {
  Tensor t = Tensor::empty(s, DType::f32);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = v;
  return t;
}

// x (4, 6, 5, 7) in [-3, 2] and the op's state: scale 0.7 (0.5 per channel), EMA state 2.5 and
// accum 1.9, a window of `window_size` entries in [0, 3.5].
inline OpCase fq_case(const std::string& op, Mode mode, uint64_t seed, Attrs attrs = {}) {
  OpCase c;
  c.op = op;
  c.attrs = std::move(attrs);
  c.mode = mode;
  const Shape x{4, 6, 5, 7};
  c.inputs = {random_tensor(x, seed, -3, 2, DType::f32)};
  if (op == "fake_channel_wise_quantize_dequantize_abs_max") {
    const int64_t axis = c.attrs.get_int("quant_axis", 0);
    c.inputs.push_back(filled({x[axis]}, 0.5f));
  } else {
    c.inputs.push_back(filled({1}, 0.7f));
  }
  if (op == "fake_quantize_dequantize_moving_average_abs_max" ||
      op == "moving_average_abs_max_scale") {
    c.inputs.push_back(filled({1}, 2.5f));  // state
    c.inputs.push_back(filled({1}, 1.9f));  // accum
  }
  if (op == "fake_quantize_dequantize_range_abs_max") {
    const int64_t W = c.attrs.get_int("window_size", 10000);
    c.inputs.push_back(random_tensor({W}, seed + 1, 0, 3.5, DType::f32));
  }
  return c;
}

}  // namespace qf::test
