// Shared cases of bn_fold_weight and bn_unscale (tests/op_cases.h): conv weights (channel axis 0),
// channels-last conv outputs and 2-D inputs (channel axis 1).
#include "tests/op_cases.h"

namespace qf::test {
namespace {

// x in [-1, 1], gamma in [0.5, gamma_hi], running_var in [var_lo, 2].
OpCase fold_case(const char* op, Shape x, double eps, uint64_t seed, double gamma_hi,
                 double var_lo) {
  const int64_t C = std::string(op) == "bn_fold_weight" ? x[0] : x[1];
  OpCase c;
  c.op = op;
  c.attrs = {{"epsilon", eps}};
  c.inputs = {random_tensor(x, seed), random_tensor({C}, seed + 1, 0.5, gamma_hi),
              random_tensor({C}, seed + 2, var_lo, 2)};
  c.cuda_tol = 2e-4;
  return c;
}

}  // namespace

QF_OP_CASES(bn_fold) {
  std::vector<NamedCase> r;
  for (const char* op : {"bn_fold_weight", "bn_unscale"}) {
    const std::string o = op;
    r.push_back({o + "_grad", fold_case(op, {3, 2, 2, 2}, 1e-3, 1, 2, 0.5), kGradients});
    for (const Shape& x : {Shape{12, 5, 3, 3}, Shape{6, 12, 4, 4}, Shape{9, 12}})
      r.push_back({o + "_" + std::to_string(x[0]) + "x" + std::to_string(x[1]),
                   fold_case(op, x, 1e-5, 50, 1.5, 0.2), kFast | kCuda});
  }
  return r;
}

}  // namespace qf::test
