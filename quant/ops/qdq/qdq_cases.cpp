// Shared cases of quantize_linear and dequantize_linear (tests/op_cases.h), in evaluation mode
// (they have no gradient): per tensor into int8 with a zero point and into uint8 without, per
// axis on weights into int16, dequantization per axis from int32 and per tensor from uint8.
// Exact on every device. dequantize_add (CPU only): int8 with a zero point then ReLU, and uint8
// without.
#include <cmath>

#include "tests/op_cases.h"

namespace qf::test {
namespace {

Tensor ints(DType t, std::vector<int> v) {
  Tensor r = Tensor::empty({static_cast<int64_t>(v.size())}, t);
  for (size_t i = 0; i < v.size(); ++i) {
    if (t == DType::i8) r.data<int8_t>()[i] = static_cast<int8_t>(v[i]);
    if (t == DType::u8) r.data<uint8_t>()[i] = static_cast<uint8_t>(v[i]);
    if (t == DType::i16) r.data<int16_t>()[i] = static_cast<int16_t>(v[i]);
    if (t == DType::i32) r.data<int32_t>()[i] = v[i];
  }
  return r;
}

// Integers in [lo, hi] of type t (int8 or uint8), from a seeded float tensor.
Tensor random_ints(const Shape& shape, uint64_t seed, int lo, int hi, DType t) {
  const Tensor f = random_tensor(shape, seed, lo, hi);
  std::vector<int> v(static_cast<size_t>(f.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int>(std::lround(f.data<double>()[i]));
  return ints(t, v).reshape(shape);
}

OpCase qdq_case(const char* op, std::vector<Tensor> inputs, Attrs attrs = {}) {
  OpCase c;
  c.op = op;
  c.inputs = std::move(inputs);
  c.attrs = std::move(attrs);
  c.mode = Mode::eval;
  c.fast_tol = 0;
  c.cuda_tol = 0;
  return c;
}

}  // namespace

QF_OP_CASES(qdq) {
  std::vector<NamedCase> r;
  const unsigned all = kFast | kCuda;
  const Tensor x = random_tensor({4, 8, 5, 5}, 1, -3, 3);
  r.push_back({"quantize_int8_zero_point",
               qdq_case("quantize_linear", {x, Tensor::from({1}, {0.02f}), ints(DType::i8, {3})}),
               all});
  r.push_back(
      {"quantize_uint8", qdq_case("quantize_linear", {x, Tensor::from({1}, {0.02f})}), all});
  r.push_back({"quantize_int16_per_axis",
               qdq_case("quantize_linear",
                        {random_tensor({3, 4, 3, 3}, 2), Tensor::from({3}, {0.01f, 0.02f, 0.005f}),
                         ints(DType::i16, {0, 1, -2})},
                        {{"axis", int64_t{0}}}),
               all});
  r.push_back(
      {"dequantize_int32_per_axis",
       qdq_case("dequantize_linear",
                {ints(DType::i32, {-1000, 7, 250, 3}), Tensor::from({4}, {0.1f, 0.2f, 0.3f, 0.4f}),
                 ints(DType::i32, {1, 2, 3, 4})},
                {{"axis", int64_t{0}}}),
       all});
  r.push_back({"dequantize_uint8",
               qdq_case("dequantize_linear", {ints(DType::u8, {0, 128, 255}),
                                              Tensor::from({1}, {0.5f}), ints(DType::u8, {128})}),
               all});
  const Tensor q8 = random_ints({2, 6, 4, 4}, 3, -128, 127, DType::i8);
  const Tensor r8 = random_tensor({2, 6, 4, 4}, 4, -2, 2);
  r.push_back({"dequantize_add_int8_relu",
               qdq_case("dequantize_add",
                        {q8, Tensor::from({1}, {0.015f}), ints(DType::i8, {-3}), r8},
                        {{"activation", std::string("relu")}}),
               kFast});
  r.push_back({"dequantize_add_uint8",
               qdq_case("dequantize_add", {random_ints({2, 6, 4, 4}, 5, 0, 255, DType::u8),
                                           Tensor::from({1}, {0.01f}), Tensor(), r8}),
               kFast});
  return r;
}

}  // namespace qf::test
