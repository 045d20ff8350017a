#include <gtest/gtest.h>

#include "tests/op_check.h"

namespace qf::test {
namespace {

struct ActCase {
  const char* op;
  std::vector<double> kinks;
};

void PrintTo(const ActCase& c, std::ostream* os) { *os << c.op; }

class Activation : public ::testing::TestWithParam<ActCase> {};

TEST_P(Activation, GradientsAwayFromKinks) {
  OpCase c;
  c.op = GetParam().op;
  c.inputs = {random_away_from({2, 3, 4, 5}, 1, -8, 8, GetParam().kinks)};
  check_gradients(c);
}

TEST_P(Activation, FastMatchesReference) {
  OpCase c;
  c.op = GetParam().op;
  c.inputs = {random_tensor({3, 7, 11, 13}, 2, -8, 8)};
  check_fast_matches_ref(c);
}

INSTANTIATE_TEST_SUITE_P(All, Activation,
                         ::testing::Values(ActCase{"relu", {0}}, ActCase{"relu6", {0, 6}},
                                           ActCase{"hardsigmoid", {-3, 3}},
                                           ActCase{"hardswish", {-3, 3}}, ActCase{"sigmoid", {}}),
                         [](const auto& info) { return std::string(info.param.op); });

TEST(Activation, KinksFollowPyTorch) {
  OpCase c;
  c.op = "relu6";
  c.inputs = {Tensor::from({4}, {0.f, 6.f, 3.f, -1.f})};
  OpRun r = run_op(c, KernelKind::cpu, {Tensor::from({4}, {1.f, 1.f, 1.f, 1.f})});
  EXPECT_EQ(r.grads[0].data<float>()[0], 0.f);
  EXPECT_EQ(r.grads[0].data<float>()[1], 0.f);
  EXPECT_EQ(r.grads[0].data<float>()[2], 1.f);
  EXPECT_EQ(r.grads[0].data<float>()[3], 0.f);
  c.op = "hardswish";
  c.inputs = {Tensor::from({4}, {-3.f, 3.f, 1.f, 4.f})};
  r = run_op(c, KernelKind::cpu, {Tensor::from({4}, {1.f, 1.f, 1.f, 1.f})});
  EXPECT_FLOAT_EQ(r.outputs[0].data<float>()[2], 1.f * 4.f / 6.f);
  EXPECT_FLOAT_EQ(r.grads[0].data<float>()[0], -0.5f);  // (2x+3)/6 at x = -3
  EXPECT_FLOAT_EQ(r.grads[0].data<float>()[1], 1.5f);   // (2x+3)/6 at x = 3
  EXPECT_FLOAT_EQ(r.grads[0].data<float>()[3], 1.f);
}

}  // namespace
}  // namespace qf::test
