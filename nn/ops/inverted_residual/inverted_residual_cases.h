// inverted_residual test inputs, shared by inverted_residual_cases.cpp and
// inverted_residual_test.cpp.
#pragma once

#include <string>

#include "tests/op_check.h"

namespace qf::test {

struct IrBlock {
  Shape x;           // (N, C, H, W)
  int64_t expanded;  // E
  int64_t out;       // K
  int64_t kernel, stride;
  bool bias, residual;
  std::string act;  // on the expansion and the depthwise convolution (clip: to [-0.5, 2])
};

// x and the residual uniform in [-1, 1], weights and biases in [-0.3, 0.3]; evaluation mode.
inline OpCase inverted_residual_case(const IrBlock& b, uint64_t seed) {
  using Ints = std::vector<int64_t>;
  const int64_t N = b.x[0], C = b.x[1], E = b.expanded, K = b.out, pad = b.kernel / 2;
  const int64_t OH = (b.x[2] + 2 * pad - b.kernel) / b.stride + 1;
  const int64_t OW = (b.x[3] + 2 * pad - b.kernel) / b.stride + 1;
  auto small = [](const Shape& s, uint64_t k) { return random_tensor(s, k, -0.3, 0.3); };
  auto bias = [&](int64_t n, uint64_t k) { return b.bias ? small({n}, k) : Tensor(); };
  OpCase c;
  c.op = "inverted_residual";
  c.mode = Mode::eval;
  c.attrs = {{"depthwise.strides", Ints{b.stride, b.stride}},
             {"depthwise.pads", Ints{pad, pad, pad, pad}},
             {"depthwise.group", E}};
  for (const std::string stage : {"expand.", "depthwise."}) {
    c.attrs.set(stage + "activation", b.act);
    c.attrs.set(stage + "activation_alpha", -0.5);
    c.attrs.set(stage + "activation_beta", 2.0);
  }
  c.inputs = {random_tensor(b.x, seed),
              small({E, C, 1, 1}, seed + 1), bias(E, seed + 2),
              small({E, 1, b.kernel, b.kernel}, seed + 3), bias(E, seed + 4),
              small({K, E, 1, 1}, seed + 5), bias(K, seed + 6),
              b.residual ? random_tensor({N, K, OH, OW}, seed + 7) : Tensor()};
  return c;
}

}  // namespace qf::test
