#include <gtest/gtest.h>

#include "tests/op_check.h"

namespace qf::test {
namespace {

Tensor i8(const Shape& s, std::vector<int8_t> v) {
  Tensor t = Tensor::empty(s, DType::i8);
  std::copy(v.begin(), v.end(), t.data<int8_t>());
  return t;
}

TEST(QuantizeLinear, RoundsHalfToEvenAndSaturatesInt8) {
  OpCase c;
  c.op = "quantize_linear";
  c.inputs = {Tensor::from({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 1000.f, -1000.f, 0.26f}),
              Tensor::from({}, {1.f}), i8({}, {0})};
  const OpRun r = run_op(c, KernelKind::cpu);
  const int8_t* q = r.outputs[0].data<int8_t>();
  EXPECT_EQ(std::vector<int>(q, q + 8), (std::vector<int>{0, 2, 2, 0, -2, 127, -128, 0}));
}

TEST(QuantizeLinear, DefaultsToUint8WithoutZeroPoint) {
  OpCase c;
  c.op = "quantize_linear";
  c.inputs = {Tensor::from({3}, {-1.f, 0.8f, 300.f}), Tensor::from({}, {0.5f})};
  const OpRun r = run_op(c, KernelKind::cpu);
  ASSERT_EQ(r.outputs[0].dtype(), DType::u8);
  const uint8_t* q = r.outputs[0].data<uint8_t>();
  EXPECT_EQ(q[0], 0);    // -2 saturates at 0
  EXPECT_EQ(q[1], 2);    // 1.6 -> 2
  EXPECT_EQ(q[2], 255);  // 600 saturates
}

TEST(QuantizeLinear, PerAxisOnWeights) {
  // (2, 1, 1, 2) weight, per output channel (axis 0) scales 0.1 and 1.
  OpCase c;
  c.op = "quantize_linear";
  c.attrs = {{"axis", int64_t{0}}};
  c.inputs = {Tensor::from({2, 1, 1, 2}, {0.25f, -0.35f, 2.5f, 3.5f}),
              Tensor::from({2}, {0.1f, 1.f}), i8({2}, {0, 0})};
  const OpRun r = run_op(c, KernelKind::cpu);
  const int8_t* q = r.outputs[0].data<int8_t>();
  EXPECT_EQ(std::vector<int>(q, q + 4), (std::vector<int>{2, -4, 2, 4}));  // 2.5 -> 2, 3.5 -> 4
}

TEST(DequantizeLinear, PerAxisWithZeroPointAndInt32) {
  OpCase c;
  c.op = "dequantize_linear";
  c.attrs = {{"axis", int64_t{0}}};
  c.inputs = {i8({2, 2}, {-128, 127, 10, -10}), Tensor::from({2}, {0.5f, 2.f}), i8({2}, {0, 10})};
  OpRun r = run_op(c, KernelKind::cpu);
  const float* x = r.outputs[0].data<float>();
  EXPECT_FLOAT_EQ(x[0], -64.f);
  EXPECT_FLOAT_EQ(x[1], 63.5f);
  EXPECT_FLOAT_EQ(x[2], 0.f);
  EXPECT_FLOAT_EQ(x[3], -40.f);
  Tensor b = Tensor::empty({2}, DType::i32);
  b.data<int32_t>()[0] = 100000;
  b.data<int32_t>()[1] = -3;
  c.attrs = {};
  c.inputs = {b, Tensor::from({}, {0.001f})};
  r = run_op(c, KernelKind::cpu);
  EXPECT_FLOAT_EQ(r.outputs[0].data<float>()[0], 100.f);
  EXPECT_FLOAT_EQ(r.outputs[0].data<float>()[1], -0.003f);
}

TEST(QuantizeLinear, RejectsBadScalesAndPerAxisActivations) {
  OpCase c;
  c.op = "quantize_linear";
  c.attrs = {{"axis", int64_t{1}}};
  c.inputs = {Tensor::zeros({2, 3, 4, 4}), Tensor::from({3}, {1, 1, 1}), i8({3}, {0, 0, 0})};
  EXPECT_THROW(run_op(c, KernelKind::cpu), InputError);
  c.inputs = {Tensor::zeros({2, 3}), Tensor::from({2}, {1, 1}), i8({2}, {0, 0})};
  EXPECT_THROW(run_op(c, KernelKind::cpu), InputError);  // 2 scales for an axis of 3
}

}  // namespace
}  // namespace qf::test
