// Shared cases of dropout (tests/op_cases.h): the mask is a pure function of (seed, step, node
// name, element), so every kernel drops the same elements and the fast and CUDA kernels must
// match the reference exactly.
#include "tests/op_cases.h"

namespace qf::test {
namespace {

OpCase dropout_case(Shape s, double p, int64_t step, uint64_t seed, Mode mode = Mode::train) {
  OpCase c;
  c.op = "dropout";
  c.attrs = {{"ratio", p}};
  c.inputs = {random_tensor(s, 7, 0.5, 2.0)};  // nonzero, so a dropped element shows as 0
  c.step.step = step;
  c.step.seed = seed;
  c.mode = mode;
  c.fast_tol = 0;
  c.cuda_tol = 0;
  return c;
}

}  // namespace

QF_OP_CASES(dropout) {
  std::vector<NamedCase> r;
  r.push_back({"grad", dropout_case({2, 3, 4, 5}, 0.3, 5, 11), kGradients});
  r.push_back({"train", dropout_case({4, 8, 9, 13}, 0.25, 3, 42), kFast});
  r.push_back({"eval", dropout_case({4, 8, 9, 13}, 0.25, 3, 42, Mode::eval), kFast});
  r.push_back({"train_step17", dropout_case({4, 16, 9, 9}, 0.3, 17, 42), kFast | kCuda});
  r.push_back({"eval_step17", dropout_case({4, 16, 9, 9}, 0.3, 17, 42, Mode::eval), kFast | kCuda});
  return r;
}

}  // namespace qf::test
