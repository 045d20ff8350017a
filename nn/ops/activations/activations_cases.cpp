// Shared cases of the activations (tests/op_cases.h): inputs kept away from each kink, since a
// finite difference across one means nothing.
#include "tests/op_cases.h"

namespace qf::test {
namespace {

struct Activation {
  const char* op;
  std::vector<double> kinks;
};
const Activation kActivations[] = {{"relu", {0}},
                                   {"relu6", {0, 6}},
                                   {"hardsigmoid", {-3, 3}},
                                   {"hardswish", {-3, 3}},
                                   {"sigmoid", {}}};

OpCase act_case(const char* op, Tensor x, double cuda_tol = 1e-4) {
  OpCase c;
  c.op = op;
  c.inputs = {std::move(x)};
  c.cuda_tol = cuda_tol;
  return c;
}

}  // namespace

QF_OP_CASES(activations) {
  std::vector<NamedCase> r;
  for (const Activation& a : kActivations) {
    const std::string op = a.op;
    r.push_back({op + "_small", act_case(a.op, random_away_from({2, 3, 4, 5}, 1, -8, 8, a.kinks)),
                 kGradients});
    r.push_back(
        {op + "_odd_shape", act_case(a.op, random_tensor({3, 7, 11, 13}, 2, -8, 8)), kFast});
    r.push_back({op + "_away_from_kinks",
                 act_case(a.op, random_away_from({4, 16, 9, 9}, 11, -8, 8, a.kinks), 1e-6),
                 kFast | kCuda});
  }
  OpCase hs = act_case("hardsigmoid", random_away_from({1000}, 12, -5, 5, {-2, 3}), 1e-6);
  hs.attrs = {{"alpha", 0.2}, {"beta", 0.4}};
  r.push_back({"hardsigmoid_alpha_beta", hs, kFast | kCuda});
  OpCase clip = act_case("clip", random_away_from({3, 4, 5}, 7, -1, 1, {-0.5, 0.25}));
  clip.attrs = {{"min", -0.5}, {"max", 0.25}};
  r.push_back({"clip", clip, kGradients | kFast});
  return r;
}

}  // namespace qf::test
