// Shared cases of global_avg_pool (tests/op_cases.h): several channel blocks with a ragged one,
// one sample, a map of 28x28.
#include "tests/op_cases.h"

namespace qf::test {
namespace {

OpCase gap_case(Shape s, uint64_t seed) {
  OpCase c;
  c.op = "global_avg_pool";
  c.inputs = {random_tensor(s, seed)};
  c.cuda_tol = 1e-5;
  return c;
}

}  // namespace

QF_OP_CASES(global_avg_pool) {
  std::vector<NamedCase> r;
  r.push_back({"grad", gap_case({2, 3, 4, 5}, 1), kGradients});
  r.push_back({"ragged_channel_blocks", gap_case({4, 200, 7, 7}, 2), kFast});
  r.push_back({"one_sample_28x28", gap_case({1, 3, 28, 28}, 3), kFast});
  r.push_back({"c40_7x7", gap_case({4, 40, 7, 7}, 6), kFast | kCuda});
  return r;
}

}  // namespace qf::test
