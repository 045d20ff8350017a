// inverted_residual's bad input: blocks that are not expand -> depthwise -> project. The strip
// kernel against the reference: inverted_residual_cases.cpp.
#include <gtest/gtest.h>

#include "nn/ops/inverted_residual/inverted_residual.h"
#include "nn/ops/inverted_residual/inverted_residual_cases.h"

namespace qf::test {
namespace {

TEST(InvertedResidual, RejectsBlocksOfAnotherShape) {
  const IrBlock b{{2, 8, 10, 10}, 24, 8, 3, 1, true, true, "relu6"};
  OpCase c = inverted_residual_case(b, 3);
  c.inputs[kIrExpandW] = random_tensor({24, 8, 3, 3}, 4);  // the expansion is not 1x1
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = inverted_residual_case(b, 3);
  c.attrs.set("depthwise.group", int64_t{1});  // not depthwise
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = inverted_residual_case(b, 3);
  c.attrs.set("depthwise.pads", std::vector<int64_t>{3, 3, 3, 3});  // as large as the kernel
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = inverted_residual_case(b, 3);
  c.inputs[kIrResidual] = random_tensor({2, 8, 5, 5}, 5);  // residual of another shape
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
}

TEST(InvertedResidual, RunsFloat32Only) {
  // The op's inputs as the cases make them are float64; only the fast check converts them.
  const OpCase c = inverted_residual_case({{1, 8, 6, 6}, 16, 8, 3, 1, false, false, "relu"}, 6);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  EXPECT_NO_THROW(run_op(as_float32(c), KernelKind::cpu_ref));
}

}  // namespace
}  // namespace qf::test
