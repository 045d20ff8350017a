// qconv2d and qlinear: the output stage by hand, and the oneDNN int8 kernels against the exact
// int32 reference over geometries (depthwise, strided, padded), input types and output stages —
// integer outputs may move by one step on a rounding tie, which this test counts (the shared
// cases, qconv2d_cases.cpp and qlinear_cases.cpp, compare float outputs).
#include <gtest/gtest.h>

#include <random>

#include "tests/nn/nhwc.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

double value(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32:
      return t.data<float>()[i];
    case DType::i8:
      return t.data<int8_t>()[i];
    default:
      return t.data<uint8_t>()[i];
  }
}

// Largest |fast - ref| and how many elements differ at all.
std::pair<double, int64_t> compare(const Tensor& a, const Tensor& b) {
  double m = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = std::fabs(value(a, i) - value(b, i));
    m = std::max(m, d / (a.dtype() == DType::f32 ? 1 + std::fabs(value(b, i)) : 1.0));
    n += d != 0;
  }
  return {m, n};
}

TEST(QConv2d, OutputStageByHand) {
  // acc = 3 x; v = 0.1 (acc + 0.5).
  OpCase c;
  c.op = "qconv2d";
  c.mode = Mode::eval;
  c.inputs = {random_int_tensor({1, 1, 2, 2}, DType::i8, 0, 0, 0),
              random_int_tensor({1, 1, 1, 1}, DType::i8, 0, 0, 0), Tensor::from({1}, {0.5f})};
  for (int i = 0; i < 4; ++i)
    c.inputs[0].data<int8_t>()[i] = static_cast<int8_t>(i + 1 - 3);  // -2..1
  c.inputs[1].data<int8_t>()[0] = 3;
  c.attrs = {{"scales", std::vector<double>{0.1}}, {"out_dtype", std::string("f32")}};
  for (KernelKind k : {KernelKind::cpu_ref, KernelKind::cpu}) {
    const OpRun r = run_op(c, k);
    const float want[4] = {-0.55f, -0.25f, 0.05f, 0.35f};
    for (int i = 0; i < 4; ++i) EXPECT_NEAR(r.outputs[0].data<float>()[i], want[i], 1e-6) << i;
  }
  // The chain of a Q(s1) -> DQ -> Relu -> Q(s2) model: scales s_x s_w / s1 = 0.1, round and clip at
  // s1, relu, times s1 / s2 = 7, saturate: -0.55 -> -1 -> 0; 0.35 -> 0 -> 0; with acc*10: larger.
  c.attrs = {{"scales", std::vector<double>{1.0}},
             {"out_dtype", std::string("i8")},
             {"round_clip", int64_t{1}},
             {"act", std::string("relu")},
             {"post_scale", 7.0}};
  for (KernelKind k : {KernelKind::cpu_ref, KernelKind::cpu}) {
    const OpRun r = run_op(c, k);
    // v = acc + 0.5 = -5.5, -2.5, 0.5, 3.5 -> round half even -6, -2, 0, 4 -> relu 0,0,0,4 -> *7
    const int want[4] = {0, 0, 0, 28};
    for (int i = 0; i < 4; ++i) EXPECT_EQ(r.outputs[0].data<int8_t>()[i], want[i]) << i;
  }
  // Saturation of the destination and out_max for uint8 storage.
  c.attrs = {{"scales", std::vector<double>{100.0}},
             {"out_dtype", std::string("u8")},
             {"act", std::string("relu")},
             {"out_max", 127.0}};
  for (KernelKind k : {KernelKind::cpu_ref, KernelKind::cpu}) {
    const OpRun r = run_op(c, k);
    const int want[4] = {0, 0, 50, 127};
    for (int i = 0; i < 4; ++i) EXPECT_EQ(r.outputs[0].data<uint8_t>()[i], want[i]) << i;
  }
}

struct ConvCase {
  Shape x;
  int64_t K, R, stride, pad, groups;
};

TEST(QConv2d, FastMatchesExactReference) {
  const ConvCase cases[] = {{{2, 16, 9, 9}, 32, 3, 1, 1, 1},
                            {{2, 16, 9, 9}, 16, 3, 2, 1, 16},
                            {{3, 24, 7, 5}, 40, 1, 1, 0, 1},
                            {{1, 3, 11, 11}, 8, 3, 2, 1, 1},
                            {{2, 64, 6, 6}, 64, 3, 1, 1, 64}};
  std::mt19937_64 gen(5);
  int seed = 1;
  for (const ConvCase& cc : cases)
    for (DType xt : {DType::u8, DType::i8})
      for (const char* out : {"f32", "i8", "u8"})
        for (int chain = 0; chain < 2; ++chain) {
          OpCase c;
          c.op = "qconv2d";
          c.mode = Mode::eval;
          const int64_t Cg = cc.x[1] / cc.groups;
          c.inputs = {random_int_tensor(cc.x, xt, seed++, xt == DType::u8 ? 0 : -128, 127),
                      random_int_tensor({cc.K, Cg, cc.R, cc.R}, DType::i8, seed++, -127, 127),
                      random_tensor({cc.K}, seed++, -300, 300, DType::f32)};
          std::vector<double> scales(cc.K);
          const double base = 1.0 / (std::sqrt(static_cast<double>(Cg * cc.R * cc.R)) * 127 * 40);
          for (double& s : scales) s = base * std::uniform_real_distribution<double>(0.5, 2)(gen);
          c.attrs = {{"strides", std::vector<int64_t>{cc.stride, cc.stride}},
                     {"pads", std::vector<int64_t>{cc.pad, cc.pad, cc.pad, cc.pad}},
                     {"group", cc.groups},
                     {"scales", scales},
                     {"out_dtype", std::string(out)}};
          if (chain) {
            c.attrs.set("round_clip", int64_t{1});
            c.attrs.set("act", std::string("clip"));
            c.attrs.set("act_min", 0.0);
            c.attrs.set("act_max", 90.0);
            c.attrs.set("post_scale", 1.37);
          }
          const OpRun ref = run_op(c, KernelKind::cpu_ref);
          const OpRun fast = run_op(c, KernelKind::cpu);
          const auto [diff, count] = compare(fast.outputs[0], ref.outputs[0]);
          // Float rounding order may move a value that sits on a rounding tie by one step.
          EXPECT_LE(diff, std::string(out) == "f32" ? 1e-5 : 1.0)
              << shape_str(cc.x) << " groups " << cc.groups << " " << dtype_name(xt) << " -> "
              << out;
          EXPECT_LE(count, std::string(out) == "f32" ? fast.outputs[0].numel()
                                                     : fast.outputs[0].numel() / 200 + 1)
              << shape_str(cc.x) << " groups " << cc.groups << " " << dtype_name(xt) << " -> "
              << out;
        }
}

TEST(QLinear, FastMatchesExactReference) {
  int seed = 100;
  for (DType xt : {DType::u8, DType::i8})
    for (const char* out : {"f32", "i8", "u8"}) {
      OpCase c;
      c.op = "qlinear";
      c.mode = Mode::eval;
      c.inputs = {random_int_tensor({16, 200}, xt, seed++, xt == DType::u8 ? 0 : -128, 127),
                  random_int_tensor({37, 200}, DType::i8, seed++, -127, 127),
                  random_tensor({37}, seed++, -500, 500, DType::f32)};
      std::vector<double> scales(37);
      for (int i = 0; i < 37; ++i) scales[i] = 1e-4 * (1 + i % 5);
      c.attrs = {{"scales", scales}, {"out_dtype", std::string(out)}, {"act", std::string("relu")}};
      const OpRun ref = run_op(c, KernelKind::cpu_ref);
      const OpRun fast = run_op(c, KernelKind::cpu);
      const auto [diff, count] = compare(fast.outputs[0], ref.outputs[0]);
      EXPECT_LE(diff, std::string(out) == "f32" ? 1e-5 : 1.0) << dtype_name(xt) << " -> " << out;
      EXPECT_LE(count, std::string(out) == "f32" ? 16 * 37 : 4) << dtype_name(xt) << " -> " << out;
    }
}

TEST(QConv2d, RejectsFloatInputsAndBadStages) {
  OpCase c;
  c.op = "qconv2d";
  c.mode = Mode::eval;
  c.inputs = {random_tensor({1, 2, 3, 3}, 1, -1, 1, DType::f32),
              random_int_tensor({2, 2, 1, 1}, DType::i8, 2, -1, 1)};
  c.attrs = {{"scales", std::vector<double>{1.0}}};
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c.inputs[0] = random_int_tensor({1, 2, 3, 3}, DType::i8, 3, -1, 1);
  c.attrs = {{"scales", std::vector<double>{1.0, 2.0, 3.0}}};
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c.attrs = {{"scales", std::vector<double>{1.0}}, {"out_dtype", std::string("i16")}};
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
}

}  // namespace
}  // namespace qf::test
