// reshape: logical-order semantics under the channels-last layout, 0 and -1, impossible shapes.
// Gradient checks and kernel agreement: reshape_cases.cpp.
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

TEST(Reshape, RejectsImpossibleShapes) {
  EXPECT_THROW(run_op(reshape_case(random_tensor({2, 6}, 1), {5, -1}), KernelKind::cpu),
               InputError);
  EXPECT_THROW(run_op(reshape_case(random_tensor({2, 6}, 1), {-1, -1}), KernelKind::cpu),
               InputError);
  EXPECT_THROW(run_op(reshape_case(random_tensor({2, 6}, 1), {4, 4}), KernelKind::cpu), InputError);
}

}  // namespace
}  // namespace qf::test
