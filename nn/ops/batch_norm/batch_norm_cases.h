// batch_norm test inputs, shared by batch_norm_cases.cpp and batch_norm_test.cpp.
#pragma once

#include "tests/op_check.h"

namespace qf::test {

// x of `x`'s shape in [-2, 3], gamma in [0.5, 1.5], beta and the running mean in [-1, 1], the
// running variance in [0.5, 2]; `frozen` is use_running_stats.
inline OpCase bn_case(Shape x, int64_t frozen, uint64_t seed, Mode mode = Mode::train) {
  const int64_t C = x[1];
  OpCase c;
  c.op = "batch_norm";
  c.attrs = {{"epsilon", 1e-5}, {"momentum", 0.1}, {"use_running_stats", frozen}};
  c.inputs = {random_tensor(x, seed, -2, 3), random_tensor({C}, seed + 1, 0.5, 1.5),
              random_tensor({C}, seed + 2), random_tensor({C}, seed + 3),
              random_tensor({C}, seed + 4, 0.5, 2)};
  c.mode = mode;
  c.cuda_tol = 5e-4;
  return c;
}

}  // namespace qf::test
