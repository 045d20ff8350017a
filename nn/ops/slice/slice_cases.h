// slice test inputs, shared by slice_cases.cpp and slice_test.cpp.
#pragma once

#include "tests/op_check.h"

namespace qf::test {

// axes and steps empty: the op's defaults (0..k-1, steps of 1).
inline OpCase slice_case(const Tensor& x, std::vector<int64_t> starts, std::vector<int64_t> ends,
                         std::vector<int64_t> axes = {}, std::vector<int64_t> steps = {}) {
  OpCase c;
  c.op = "slice";
  c.attrs = {{"starts", starts}, {"ends", ends}};
  if (!axes.empty()) c.attrs.set("axes", axes);
  if (!steps.empty()) c.attrs.set("steps", steps);
  c.inputs = {x};
  return c;
}

}  // namespace qf::test
