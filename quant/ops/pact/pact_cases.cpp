// Shared cases of pact (tests/op_cases.h): inputs kept away from the clip's kinks at -alpha and
// alpha; a tensor above the fast kernel's thread cutoff.
#include "tests/op_cases.h"

namespace qf::test {

QF_OP_CASES(pact) {
  std::vector<NamedCase> r;
  OpCase c;
  c.op = "pact";
  c.inputs = {random_away_from({4, 6}, 5, -2, 2, {-0.8, 0.8}, 0.05), Tensor::from({1}, {0.8f})};
  c.inputs[1] = to_dtype(c.inputs[1], DType::f64);
  r.push_back({"grad", c, kGradients});
  c.inputs[0] = random_tensor({3, 50, 400}, 6, -2, 2, DType::f32);
  c.fast_tol = 1e-5;
  r.push_back({"threaded", c, kFast});
  OpCase d;
  d.op = "pact";
  d.inputs = {random_away_from({8, 16, 9, 9}, 40, -4, 4, {-1.5, 1.5}, 0.01),
              Tensor::from({1}, {1.5f})};
  d.cuda_tol = 1e-5;
  r.push_back({"alpha_1_5", d, kFast | kCuda});
  return r;
}

}  // namespace qf::test
