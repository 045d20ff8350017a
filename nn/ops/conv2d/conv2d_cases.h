// conv2d test inputs, shared by conv2d_cases.cpp and conv2d_test.cpp.
#pragma once

#include "tests/op_check.h"

namespace qf::test {

using Ints = std::vector<int64_t>;

// x and w uniform in [-1, 1] (bias too, when there is one).
inline OpCase conv_case(Shape x, Shape w, bool bias, Ints strides, Ints pads, Ints dil,
                        int64_t group, uint64_t seed, Mode mode = Mode::train) {
  OpCase c;
  c.op = "conv2d";
  c.attrs = {{"strides", strides}, {"pads", pads}, {"dilations", dil}, {"group", group}};
  c.inputs = {random_tensor(x, seed), random_tensor(w, seed + 1),
              bias ? random_tensor({w[0]}, seed + 2) : Tensor()};
  c.mode = mode;
  c.cuda_tol = 2e-4;
  return c;
}

}  // namespace qf::test
