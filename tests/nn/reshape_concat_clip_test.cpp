// reshape, concat and clip: the ops ONNX import needs beyond the foundation's set.
#include <gtest/gtest.h>

#include "tests/nn/nhwc.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

std::vector<float> iota(int64_t n) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(i);
  return v;
}

OpCase reshape_case(const Tensor& x, std::vector<int64_t> shape) {
  OpCase c;
  c.op = "reshape";
  c.attrs = {{"shape", shape}};
  c.inputs = {x};
  return c;
}

TEST(Reshape, FourDToTwoDIsLogicalOrderLikeFlatten) {
  const std::vector<float> v = iota(2 * 3 * 2 * 2);
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(reshape_case(nhwc({2, 3, 2, 2}, v), {0, -1}), k);
    ASSERT_EQ(r.outputs[0].shape(), (Shape{2, 12}));
    for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(r.outputs[0].data<float>()[i], v[i]);
  }
}

TEST(Reshape, TwoDToFourDIsStoredChannelsLast) {
  const std::vector<float> v = iota(2 * 12);
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(reshape_case(Tensor::from({2, 12}, v), {2, 3, 2, 2}), k);
    ASSERT_EQ(r.outputs[0].shape(), (Shape{2, 3, 2, 2}));
    EXPECT_EQ(max_rel_diff(r.outputs[0], nhwc({2, 3, 2, 2}, v)), 0.0);
  }
}

TEST(Reshape, FourDToFourDGoesThroughLogicalOrder) {
  const std::vector<float> v = iota(2 * 4 * 3 * 2);
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(reshape_case(nhwc({2, 4, 3, 2}, v), {2, 2, 6, 2}), k);
    EXPECT_EQ(max_rel_diff(r.outputs[0], nhwc({2, 2, 6, 2}, v)), 0.0);
  }
}

TEST(Reshape, ZeroCopiesAndMinusOneInfers) {
  const OpRun r = run_op(reshape_case(random_tensor({4, 6, 5}, 1), {0, -1, 2, 3}), KernelKind::cpu);
  EXPECT_EQ(r.outputs[0].shape(), (Shape{4, 5, 2, 3}));
}

TEST(Reshape, GradientsAndFastMatchesReference) {
  check_gradients(reshape_case(random_tensor({2, 3, 2, 2}, 2), {2, 2, 3, 2}));
  check_gradients(reshape_case(random_tensor({2, 6}, 3), {2, 3, 1, 2}));
  OpCase c = reshape_case(random_tensor({3, 40, 5, 7}, 4), {3, 20, 7, 10});
  c.fast_tol = 0;
  check_fast_matches_ref(c);
  c = reshape_case(random_tensor({3, 40, 5, 7}, 5), {-1, 350});
  c.fast_tol = 0;
  check_fast_matches_ref(c);
}

TEST(Reshape, RejectsImpossibleShapes) {
  EXPECT_THROW(run_op(reshape_case(random_tensor({2, 6}, 1), {5, -1}), KernelKind::cpu), InputError);
  EXPECT_THROW(run_op(reshape_case(random_tensor({2, 6}, 1), {-1, -1}), KernelKind::cpu), InputError);
  EXPECT_THROW(run_op(reshape_case(random_tensor({2, 6}, 1), {4, 4}), KernelKind::cpu), InputError);
}

OpCase concat_case(std::vector<Tensor> xs, int64_t axis) {
  OpCase c;
  c.op = "concat";
  c.attrs = {{"axis", axis}};
  c.inputs = std::move(xs);
  return c;
}

TEST(Concat, ChannelAxisOfChannelsLastTensors) {
  // Logical (1, 1, 2, 2) and (1, 2, 2, 2): the result's channel 0 is a, channels 1-2 are b.
  const Tensor a = nhwc({1, 1, 2, 2}, {0, 1, 2, 3});
  const Tensor b = nhwc({1, 2, 2, 2}, {10, 11, 12, 13, 20, 21, 22, 23});
  const Tensor want = nhwc({1, 3, 2, 2}, {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23});
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(concat_case({a, b}, 1), k);
    ASSERT_EQ(r.outputs[0].shape(), (Shape{1, 3, 2, 2}));
    EXPECT_EQ(max_rel_diff(r.outputs[0], want), 0.0);
  }
}

TEST(Concat, OtherAxesAndRanks) {
  for (int64_t axis : {0, 2, 3, -1}) {
    Shape sa{2, 3, 2, 2}, sb{2, 3, 2, 2};
    sb[axis < 0 ? 3 : axis] = 3;
    OpCase c = concat_case({random_tensor(sa, 1), random_tensor(sb, 2)}, axis);
    c.fast_tol = 0;
    check_fast_matches_ref(c);
  }
  const OpRun r = run_op(concat_case({Tensor::from({2, 1}, {1, 2}), Tensor::from({2, 2}, {3, 4, 5, 6})}, 1),
                         KernelKind::cpu);
  EXPECT_EQ(max_rel_diff(r.outputs[0], Tensor::from({2, 3}, {1, 3, 4, 2, 5, 6})), 0.0);
}

TEST(Concat, Gradients) {
  check_gradients(concat_case({random_tensor({2, 2, 2, 3}, 1), random_tensor({2, 3, 2, 3}, 2)}, 1));
  check_gradients(concat_case({random_tensor({2, 3}, 3), random_tensor({1, 3}, 4)}, 0));
}

TEST(Concat, RejectsMismatchedInputs) {
  EXPECT_THROW(run_op(concat_case({random_tensor({2, 3}, 1), random_tensor({3, 3}, 2)}, 1),
                      KernelKind::cpu),
               InputError);
  EXPECT_THROW(run_op(concat_case({random_tensor({2, 3}, 1), random_tensor({2, 3}, 2)}, 2),
                      KernelKind::cpu),
               InputError);
}

TEST(Clip, ClampsToBoundsWithInsideGradient) {
  OpCase c;
  c.op = "clip";
  c.attrs = {{"min", -0.5}, {"max", 0.25}};
  c.inputs = {Tensor::from({4}, {-1.f, -0.2f, 0.1f, 3.f})};
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(c, k, {Tensor::from({4}, {1, 1, 1, 1})});
    EXPECT_EQ(max_rel_diff(r.outputs[0], Tensor::from({4}, {-0.5f, -0.2f, 0.1f, 0.25f})), 0.0);
    EXPECT_EQ(max_rel_diff(r.grads[0], Tensor::from({4}, {0, 1, 1, 0})), 0.0);
  }
  c.inputs = {random_away_from({3, 4, 5}, 7, -1, 1, {-0.5, 0.25})};
  check_gradients(c);
  check_fast_matches_ref(c);
  c.attrs = {{"min", 1.0}, {"max", 0.0}};
  EXPECT_THROW(run_op(c, KernelKind::cpu), InputError);
}

}  // namespace
}  // namespace qf::test
