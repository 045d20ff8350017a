// inverted_residual: the oneDNN strip kernel against the reference kernel (three reference
// convolutions in turn) over the plans it makes — several strips per image taken whole by each
// thread, one strip per image per thread, and images in turn with every thread in each primitive — at
// stride 1 with a residual and stride 2 without, 3x3 and 5x5 depthwise, odd sizes, absent biases;
// and blocks that are not inverted residuals.
#include <gtest/gtest.h>

#include "nn/ops/inverted_residual/inverted_residual.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

using Ints = std::vector<int64_t>;

struct Block {
  Shape x;           // (N, C, H, W)
  int64_t expanded;  // E
  int64_t out;       // K
  int64_t kernel, stride;
  bool bias, residual;
  std::string act;  // on the expansion and the depthwise convolution
};

Tensor small(const Shape& s, uint64_t seed) { return random_tensor(s, seed, -0.3, 0.3, DType::f32); }

OpCase block_case(const Block& b, uint64_t seed) {
  const int64_t N = b.x[0], C = b.x[1], E = b.expanded, K = b.out, pad = b.kernel / 2;
  const int64_t OH = (b.x[2] + 2 * pad - b.kernel) / b.stride + 1;
  const int64_t OW = (b.x[3] + 2 * pad - b.kernel) / b.stride + 1;
  OpCase c;
  c.op = "inverted_residual";
  c.mode = Mode::eval;
  c.attrs = {{"depthwise.strides", Ints{b.stride, b.stride}},
             {"depthwise.pads", Ints{pad, pad, pad, pad}},
             {"depthwise.group", E}};
  for (const char* stage : {"expand.", "depthwise."}) {
    c.attrs.set(std::string(stage) + "activation", b.act);
    c.attrs.set(std::string(stage) + "activation_alpha", -0.5);  // clip's bounds
    c.attrs.set(std::string(stage) + "activation_beta", 2.0);
  }
  auto bias = [&](int64_t n, uint64_t s) { return b.bias ? small({n}, s) : Tensor(); };
  c.inputs = {random_tensor(b.x, seed, -1, 1, DType::f32),
              small({E, C, 1, 1}, seed + 1), bias(E, seed + 2),
              small({E, 1, b.kernel, b.kernel}, seed + 3), bias(E, seed + 4),
              small({K, E, 1, 1}, seed + 5), bias(K, seed + 6),
              b.residual ? random_tensor({N, K, OH, OW}, seed + 7, -1, 1, DType::f32) : Tensor()};
  return c;
}

TEST(InvertedResidual, StripKernelMatchesTheReference) {
  const std::vector<Block> blocks = {
      {{3, 8, 20, 20}, 48, 8, 3, 1, true, true, "relu6"},     // images in turn (3 on 2 threads)
      {{2, 16, 64, 64}, 320, 16, 3, 1, true, true, "relu6"},  // 5 strips per image, per thread
      {{1, 16, 64, 64}, 320, 24, 3, 2, true, false, "hardswish"},  // 5 would not spread: one
      {{4, 8, 21, 21}, 40, 12, 5, 2, false, false, "clip"},   // 5x5, odd size, no biases
      {{3, 24, 57, 57}, 288, 32, 3, 2, true, false, "relu"},  // 4 strips, the last shorter
  };
  uint64_t seed = 10;
  for (const Block& b : blocks) {
    SCOPED_TRACE(shape_str(b.x) + " E " + std::to_string(b.expanded) + " stride " +
                 std::to_string(b.stride));
    const OpCase c = block_case(b, seed += 10);
    const OpRun fast = run_op(c, KernelKind::cpu);
    const OpRun ref = run_op(c, KernelKind::cpu_ref);
    EXPECT_LE(max_rel_diff(fast.outputs[0], ref.outputs[0]), 1e-4);
  }
}

TEST(InvertedResidual, RejectsBlocksOfAnotherShape) {
  const Block b{{2, 8, 10, 10}, 24, 8, 3, 1, true, true, "relu6"};
  OpCase c = block_case(b, 3);
  c.inputs[kIrExpandW] = small({24, 8, 3, 3}, 4);  // the expansion is not 1x1
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = block_case(b, 3);
  c.attrs.set("depthwise.group", int64_t{1});  // not depthwise
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = block_case(b, 3);
  c.attrs.set("depthwise.pads", Ints{3, 3, 3, 3});  // padding as large as the kernel
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = block_case(b, 3);
  c.inputs[kIrResidual] = small({2, 8, 5, 5}, 5);  // residual of another shape
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
}

}  // namespace
}  // namespace qf::test
