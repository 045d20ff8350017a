// add / mul test inputs, shared by elementwise_cases.cpp and elementwise_test.cpp.
#pragma once

#include "tests/op_check.h"

namespace qf::test {

// a and b uniform in [-1, 1].
inline OpCase bin_case(const char* op, Shape a, Shape b, uint64_t seed) {
  OpCase c;
  c.op = op;
  c.inputs = {random_tensor(a, seed), random_tensor(b, seed + 1)};
  c.cuda_tol = 1e-4;  // gradients of broadcast operands are sums of up to 3200 terms
  return c;
}

}  // namespace qf::test
