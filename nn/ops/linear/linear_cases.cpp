// Shared cases of linear (tests/op_cases.h): with and without bias, wide and narrow outputs,
// ragged bias blocks, one sample, evaluation mode.
#include "tests/op_cases.h"

namespace qf::test {
namespace {

OpCase linear_case(int64_t n, int64_t in, int64_t out, bool bias, uint64_t seed,
                   Mode mode = Mode::train) {
  OpCase c;
  c.op = "linear";
  c.inputs = {random_tensor({n, in}, seed), random_tensor({out, in}, seed + 1),
              bias ? random_tensor({out}, seed + 2) : Tensor()};
  c.mode = mode;
  return c;
}

}  // namespace

QF_OP_CASES(linear) {
  std::vector<NamedCase> r;
  r.push_back({"grad_bias", linear_case(3, 5, 4, true, 1), kGradients});
  r.push_back({"grad_no_bias", linear_case(2, 3, 6, false, 2), kGradients});
  r.push_back({"in1024_out10", linear_case(64, 1024, 10, true, 3), kFast});
  r.push_back({"in1024_out100", linear_case(16, 1024, 100, true, 4), kFast});
  r.push_back({"no_bias", linear_case(64, 400, 120, false, 5), kFast});
  r.push_back({"ragged_bias_blocks", linear_case(1, 7, 130, true, 6), kFast});
  r.push_back({"eval", linear_case(8, 33, 17, true, 7, Mode::eval), kFast});
  r.push_back({"classifier_bias", linear_case(32, 100, 10, true, 2), kFast | kCuda});
  r.push_back({"classifier_no_bias", linear_case(32, 100, 10, false, 2), kFast | kCuda});
  return r;
}

}  // namespace qf::test
