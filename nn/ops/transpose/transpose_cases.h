// transpose test inputs, shared by transpose_cases.cpp and transpose_test.cpp.
#pragma once

#include "tests/op_check.h"

namespace qf::test {

// perm empty: the op's default (the axes reversed).
inline OpCase transpose_case(const Tensor& x, std::vector<int64_t> perm) {
  OpCase c;
  c.op = "transpose";
  if (!perm.empty()) c.attrs = {{"perm", perm}};
  c.inputs = {x};
  return c;
}

}  // namespace qf::test
