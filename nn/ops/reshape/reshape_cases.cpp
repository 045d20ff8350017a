// Shared cases of reshape (tests/op_cases.h): 4-D to 4-D through logical order, 2-D to 4-D
// (stored channels-last), -1. A permutation: exact.
#include "tests/op_cases.h"

namespace qf::test {
namespace {

OpCase reshape_case(Tensor x, std::vector<int64_t> shape) {
  OpCase c;
  c.op = "reshape";
  c.attrs = {{"shape", shape}};
  c.inputs = {std::move(x)};
  c.fast_tol = 0;
  return c;
}

}  // namespace

QF_OP_CASES(reshape) {
  std::vector<NamedCase> r;
  r.push_back(
      {"grad_4d_to_4d", reshape_case(random_tensor({2, 3, 2, 2}, 2), {2, 2, 3, 2}), kGradients});
  r.push_back({"grad_2d_to_4d", reshape_case(random_tensor({2, 6}, 3), {2, 3, 1, 2}), kGradients});
  r.push_back({"4d_to_4d", reshape_case(random_tensor({3, 40, 5, 7}, 4), {3, 20, 7, 10}), kFast});
  r.push_back({"4d_to_2d", reshape_case(random_tensor({3, 40, 5, 7}, 5), {-1, 350}), kFast});
  return r;
}

}  // namespace qf::test
