// concat test inputs, shared by concat_cases.cpp and concat_test.cpp.
#pragma once

#include "tests/op_check.h"

namespace qf::test {

inline OpCase concat_case(std::vector<Tensor> xs, int64_t axis) {
  OpCase c;
  c.op = "concat";
  c.attrs = {{"axis", axis}};
  c.inputs = std::move(xs);
  c.fast_tol = 0;
  return c;
}

}  // namespace qf::test
