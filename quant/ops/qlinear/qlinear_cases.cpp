// Shared cases of qlinear (tests/op_cases.h), in evaluation mode with float outputs, from uint8
// and int8 inputs, with a relu output stage. qlinear has no CUDA kernel.
#include "tests/op_cases.h"

namespace qf::test {
namespace {

OpCase qlinear_case(DType xt, uint64_t seed) {
  OpCase c;
  c.op = "qlinear";
  c.mode = Mode::eval;
  c.inputs = {random_int_tensor({16, 200}, xt, seed, xt == DType::u8 ? 0 : -128, 127),
              random_int_tensor({37, 200}, DType::i8, seed + 1, -127, 127),
              random_tensor({37}, seed + 2, -500, 500, DType::f32)};
  std::vector<double> scales(37);
  for (int i = 0; i < 37; ++i) scales[i] = 1e-4 * (1 + i % 5);
  c.attrs = {{"scales", scales}, {"out_dtype", std::string("f32")}, {"act", std::string("relu")}};
  c.fast_tol = 1e-5;
  return c;
}

}  // namespace

QF_OP_CASES(qlinear) {
  std::vector<NamedCase> r;
  r.push_back({"u8_relu", qlinear_case(DType::u8, 100), kFast});
  r.push_back({"i8_relu", qlinear_case(DType::i8, 103), kFast});
  return r;
}

}  // namespace qf::test
