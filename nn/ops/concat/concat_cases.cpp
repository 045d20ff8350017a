// Shared cases of concat (tests/op_cases.h): the channel axis of channels-last tensors, axis 0,
// the other axes of rank 4.
#include "nn/ops/concat/concat_cases.h"
#include "tests/op_cases.h"

namespace qf::test {

QF_OP_CASES(concat) {
  std::vector<NamedCase> r;
  r.push_back({"grad_channels",
               concat_case({random_tensor({2, 2, 2, 3}, 1), random_tensor({2, 3, 2, 3}, 2)}, 1),
               kGradients});
  r.push_back({"grad_axis0", concat_case({random_tensor({2, 3}, 3), random_tensor({1, 3}, 4)}, 0),
               kGradients});
  for (int64_t axis : {0, 2, 3, -1}) {
    Shape sa{2, 3, 2, 2}, sb{2, 3, 2, 2};
    sb[axis < 0 ? 3 : axis] = 3;
    r.push_back({"axis" + std::string(axis < 0 ? "_minus1" : std::to_string(axis)),
                 concat_case({random_tensor(sa, 1), random_tensor(sb, 2)}, axis), kFast});
  }
  return r;
}

}  // namespace qf::test
