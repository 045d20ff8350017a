#include <gtest/gtest.h>

#include "tests/op_check.h"

namespace qf::test {
namespace {

OpCase conv_case(Shape x, Shape w, bool bias, std::vector<int64_t> strides,
                 std::vector<int64_t> pads, std::vector<int64_t> dil, int64_t group, uint64_t seed) {
  OpCase c;
  c.op = "conv2d";
  c.attrs = {{"strides", strides}, {"pads", pads}, {"dilations", dil}, {"group", group}};
  c.inputs = {random_tensor(x, seed), random_tensor(w, seed + 1),
              bias ? random_tensor({w[0]}, seed + 2) : Tensor()};
  return c;
}

TEST(Conv2d, GradientsPlain) {
  check_gradients(conv_case({2, 3, 5, 5}, {4, 3, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 1));
}

TEST(Conv2d, GradientsStrideAsymmetricPadNoBias) {
  check_gradients(conv_case({2, 2, 6, 7}, {3, 2, 3, 2}, false, {2, 3}, {0, 1, 1, 0}, {1, 1}, 1, 2));
}

TEST(Conv2d, GradientsDilationGroups) {
  check_gradients(conv_case({1, 4, 7, 7}, {6, 2, 3, 3}, true, {1, 1}, {2, 2, 2, 2}, {2, 2}, 2, 3));
}

TEST(Conv2d, GradientsDepthwise) {
  check_gradients(conv_case({2, 3, 5, 5}, {3, 1, 3, 3}, false, {2, 2}, {1, 1, 1, 1}, {1, 1}, 3, 4));
}

TEST(Conv2d, FastMatchesReference) {
  check_fast_matches_ref(conv_case({4, 16, 14, 14}, {32, 16, 3, 3}, true, {1, 1}, {1, 1, 1, 1},
                                   {1, 1}, 1, 5));
  check_fast_matches_ref(conv_case({4, 32, 14, 14}, {64, 32, 1, 1}, false, {1, 1}, {0, 0, 0, 0},
                                   {1, 1}, 1, 6));
  check_fast_matches_ref(conv_case({3, 32, 9, 9}, {32, 1, 3, 3}, false, {2, 2}, {1, 1, 1, 1},
                                   {1, 1}, 32, 7));
  check_fast_matches_ref(conv_case({2, 3, 28, 28}, {8, 3, 3, 3}, false, {2, 2}, {1, 1, 1, 1},
                                   {1, 1}, 1, 8));
  check_fast_matches_ref(conv_case({2, 8, 10, 11}, {12, 4, 3, 2}, true, {2, 1}, {0, 1, 2, 0},
                                   {2, 1}, 2, 9));
}

TEST(Conv2d, EvalModeFastMatchesReference) {
  OpCase c = conv_case({2, 8, 7, 7}, {8, 8, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 10);
  c.mode = Mode::eval;
  check_fast_matches_ref(c);
}

TEST(Conv2d, RejectsMismatchedChannels) {
  OpCase c = conv_case({1, 3, 5, 5}, {4, 2, 3, 3}, false, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, 11);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
}

}  // namespace
}  // namespace qf::test
