// Shared cases of softmax_cross_entropy (tests/op_cases.h): with and without label smoothing,
// 1000 classes, and enough rows for the fast kernel to split them over threads.
#include "nn/ops/softmax_cross_entropy/softmax_cross_entropy_cases.h"

#include "tests/op_cases.h"

namespace qf::test {

QF_OP_CASES(softmax_cross_entropy) {
  std::vector<NamedCase> r;
  r.push_back({"grad", xent_case(4, 5, 0.0, 1), kGradients});
  r.push_back({"grad_smoothed", xent_case(3, 7, 0.1, 2), kGradients});
  r.push_back({"k10_smoothed", xent_case(64, 10, 0.1, 3), kFast});
  r.push_back({"k1000", xent_case(32, 1000, 0.0, 4), kFast});
  r.push_back({"threaded", xent_case(600, 100, 0.2, 5), kFast});
  OpCase wide = xent_case(64, 1000, 0.0, 7);
  wide.inputs[0] = random_tensor({64, 1000}, 7, -5, 5);
  r.push_back({"k1000_wide_logits", wide, kFast | kCuda});
  wide.attrs = {{"label_smoothing", 0.1}};
  r.push_back({"k1000_wide_logits_smoothed", wide, kFast | kCuda});
  return r;
}

}  // namespace qf::test
