// conv2d's bad input and the CUDA kernel's TF32 precision. Gradient checks and kernel agreement on
// every device: conv2d_cases.cpp.
#include <gtest/gtest.h>

#include "nn/ops/conv2d/conv2d_cases.h"

namespace qf::test {
namespace {

TEST(Conv2d, RejectsMismatchedChannels) {
  OpCase c = conv_case({1, 3, 5, 5}, {4, 2, 3, 3}, false, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, 11);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
}

TEST(Conv2d, CudaWithTf32StaysWithinTf32Precision) {
  QF_SKIP_WITHOUT_GPU();
  // TF32 keeps 10 mantissa bits: products are exact to about 1e-3 relative.
  const OpCase c = as_float32(
      conv_case({8, 64, 14, 14}, {64, 64, 3, 3}, false, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 8));
  const OpRun ref = run_op(c, KernelKind::cpu_ref);
  const OpRun tf32 = run_op_on(c, test_cuda_context(/*tf32=*/true));
  EXPECT_LE(max_rel_diff(tf32.outputs[0], ref.outputs[0]), 2e-2);
}

}  // namespace
}  // namespace qf::test
