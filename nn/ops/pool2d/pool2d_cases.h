// max_pool2d / avg_pool2d test inputs, shared by pool2d_cases.cpp and pool2d_test.cpp.
#pragma once

#include "tests/op_check.h"

namespace qf::test {

inline OpCase pool_case(const char* op, Shape x, std::vector<int64_t> k, std::vector<int64_t> s,
                        std::vector<int64_t> pads, int64_t ceil_mode, uint64_t seed) {
  OpCase c;
  c.op = op;
  c.attrs = {{"kernel_shape", k}, {"strides", s}, {"pads", pads}, {"ceil_mode", ceil_mode}};
  c.inputs = {random_tensor(x, seed)};
  c.cuda_tol = 1e-5;
  return c;
}

}  // namespace qf::test
