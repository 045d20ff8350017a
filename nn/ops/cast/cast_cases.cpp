// Shared cases of cast (tests/op_cases.h): float to each integer type (rounding toward zero) and
// to double. Forward only: cast passes no gradient.
#include "tests/op_cases.h"

namespace qf::test {

QF_OP_CASES(cast) {
  std::vector<NamedCase> r;
  for (const char* to : {"int8", "int16", "int32", "float64"}) {
    OpCase c;
    c.op = "cast";
    c.attrs = {{"to", std::string(to)}};
    c.inputs = {random_tensor({3, 4, 5, 6}, 1, -100, 100)};
    c.mode = Mode::eval;
    c.fast_tol = 0;
    r.push_back({std::string("to_") + to, c, kFast});
  }
  return r;
}

}  // namespace qf::test
