// Shared cases of flatten (tests/op_cases.h): the channels-last transpose with ragged tiles, the
// plain copies (1x1 maps, one channel, rank 3), other axes. A permutation: exact on every device.
#include "tests/op_cases.h"

namespace qf::test {
namespace {

OpCase flatten_case(Shape s, int64_t axis, uint64_t seed) {
  OpCase c;
  c.op = "flatten";
  c.attrs = {{"axis", axis}};
  c.inputs = {random_tensor(s, seed)};
  c.fast_tol = 0;
  c.cuda_tol = 0;
  return c;
}

}  // namespace

QF_OP_CASES(flatten) {
  std::vector<NamedCase> r;
  r.push_back({"grad_4d", flatten_case({2, 3, 4, 5}, 1, 1), kGradients});
  r.push_back({"grad_rank3_axis2", flatten_case({2, 3, 4}, 2, 2), kGradients});
  r.push_back({"ragged_tiles", flatten_case({5, 48, 7, 9}, 1, 3), kFast});
  r.push_back({"copy_1x1", flatten_case({8, 512, 1, 1}, 1, 4), kFast});
  r.push_back({"one_channel", flatten_case({3, 1, 6, 6}, 1, 5), kFast});
  r.push_back({"rank3", flatten_case({4, 6, 5}, 1, 6), kFast});
  r.push_back({"transpose", flatten_case({4, 8, 3, 5}, 1, 1), kFast | kCuda});
  r.push_back({"copy_1x1_c16", flatten_case({4, 16, 1, 1}, 1, 1), kFast | kCuda});
  r.push_back({"rank2", flatten_case({6, 10}, 1, 1), kFast | kCuda});
  return r;
}

}  // namespace qf::test
