// Shared cases of qconv2d (tests/op_cases.h), in evaluation mode with float outputs: a dense and a
// depthwise int8 convolution from uint8 and int8 inputs. qconv2d has no CUDA kernel.
#include "tests/op_cases.h"

namespace qf::test {
namespace {

OpCase qconv_case(DType xt, int64_t groups, uint64_t seed) {
  const int64_t C = 16, K = groups > 1 ? 16 : 32, Cg = C / groups;
  OpCase c;
  c.op = "qconv2d";
  c.mode = Mode::eval;
  c.inputs = {random_int_tensor({2, C, 9, 9}, xt, seed, xt == DType::u8 ? 0 : -128, 127),
              random_int_tensor({K, Cg, 3, 3}, DType::i8, seed + 1, -127, 127),
              random_tensor({K}, seed + 2, -300, 300, DType::f32)};
  std::vector<double> scales(K);
  for (int64_t k = 0; k < K; ++k) scales[k] = 1e-4 * static_cast<double>(1 + k % 5);
  c.attrs = {{"strides", std::vector<int64_t>{1, 1}},
             {"pads", std::vector<int64_t>{1, 1, 1, 1}},
             {"group", groups},
             {"scales", scales},
             {"out_dtype", std::string("f32")}};
  c.fast_tol = 1e-5;
  return c;
}

}  // namespace

QF_OP_CASES(qconv2d) {
  std::vector<NamedCase> r;
  r.push_back({"dense_u8", qconv_case(DType::u8, 1, 1), kFast});
  r.push_back({"dense_i8", qconv_case(DType::i8, 1, 4), kFast});
  r.push_back({"depthwise_u8", qconv_case(DType::u8, 16, 7), kFast});
  return r;
}

}  // namespace qf::test
