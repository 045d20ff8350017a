// Pooling by hand: first-maximum ties (also in the fast kernel's vector lanes), padding never
// winning, ceil_mode sizes and divisors, count_include_pad, bad attributes. Gradient checks and
// kernel agreement on every device: pool2d_cases.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "nn/ops/pool2d/pool2d_cases.h"
#include "tests/nn/nhwc.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

const KernelKind kBoth[] = {KernelKind::cpu, KernelKind::cpu_ref};

TEST(MaxPool2d, TiesGoToTheFirstMaximum) {
  // x = [[5, 5, 1], [5, 5, 1]], 2x2 windows at stride 1: the first window is all 5s (first =
  // (0,0)); the second holds 5 at (0,1) and (1,1) (first = (0,1)).
  OpCase c;
  c.op = "max_pool2d";
  c.attrs = {{"kernel_shape", std::vector<int64_t>{2, 2}}, {"strides", std::vector<int64_t>{1, 1}}};
  c.inputs = {nhwc({1, 1, 2, 3}, {5, 5, 1, 5, 5, 1})};
  for (KernelKind k : kBoth) {
    const OpRun r = run_op(c, k, {Tensor::from({1, 1, 1, 2}, {1, 10})});
    EXPECT_EQ(r.outputs[0].data<float>()[0], 5.f);
    EXPECT_EQ(r.outputs[0].data<float>()[1], 5.f);
    const std::vector<float> want{1, 10, 0, 0, 0, 0};
    for (int i = 0; i < 6; ++i) EXPECT_EQ(r.grads[0].data<float>()[i], want[i]) << i;
  }
}

TEST(MaxPool2d, FastKernelKeepsTheFirstMaximumOnManyTies) {
  // Values from {0, 1, 2}: most windows hold several maxima; every channel count exercises the
  // vectorised and the remainder lanes. Gradients must land exactly where the reference puts them.
  for (Shape x : {Shape{2, 35, 7, 7}, Shape{2, 64, 9, 9}, Shape{3, 3, 8, 8}})
    for (int64_t stride : {1, 2}) {
      OpCase c = pool_case("max_pool2d", x, {3, 3}, {stride, stride}, {1, 1, 1, 1}, stride - 1, 3);
      for (int64_t i = 0; i < c.inputs[0].numel(); ++i)
        c.inputs[0].data<double>()[i] = std::floor(c.inputs[0].data<double>()[i] * 1.5 + 1.5);
      c.fast_tol = 1e-6;  // summation order of overlapping windows; a misrouted dy costs ~0.1
      SCOPED_TRACE(str_cat(shape_str(x), " stride ", stride));
      check_fast_matches_ref(c);
    }
}

TEST(MaxPool2d, PaddingNeverWins) {
  // All inputs negative; a padded 2x2 window at every corner must still return the data value.
  OpCase c;
  c.op = "max_pool2d";
  c.attrs = {{"kernel_shape", std::vector<int64_t>{2, 2}},
             {"strides", std::vector<int64_t>{1, 1}},
             {"pads", std::vector<int64_t>{1, 1, 1, 1}}};
  c.inputs = {nhwc({1, 1, 2, 2}, {-1, -2, -3, -4})};
  const std::vector<float> want{-1, -1, -2, -1, -1, -2, -3, -3, -4};
  for (KernelKind k : kBoth) {
    const OpRun r = run_op(c, k, {Tensor::from({1, 1, 3, 3}, std::vector<float>(9, 1.f))});
    ASSERT_EQ(r.outputs[0].shape(), (Shape{1, 1, 3, 3}));
    for (int i = 0; i < 9; ++i) EXPECT_EQ(r.outputs[0].data<float>()[i], want[i]) << i;
    // -1 wins 4 windows, -2 two, -3 two, -4 one.
    const std::vector<float> dx{4, 2, 2, 1};
    for (int i = 0; i < 4; ++i) EXPECT_EQ(r.grads[0].data<float>()[i], dx[i]) << i;
  }
}

TEST(MaxPool2d, CeilModeOutputSize) {
  auto out = [](int64_t h, int64_t k, int64_t s, int64_t p, int64_t ceil_mode) {
    OpCase c = pool_case("max_pool2d", {1, 2, h, h}, {k, k}, {s, s}, {p, p, p, p}, ceil_mode, 1);
    return run_op(c, KernelKind::cpu_ref).outputs[0].shape();
  };
  EXPECT_EQ(out(5, 2, 2, 0, 0), (Shape{1, 2, 2, 2}));
  EXPECT_EQ(out(5, 2, 2, 0, 1), (Shape{1, 2, 3, 3}));
  // 112 -> 56 (ResNet stem), same with ceil_mode.
  EXPECT_EQ(out(112, 3, 2, 1, 0), (Shape{1, 2, 56, 56}));
  EXPECT_EQ(out(112, 3, 2, 1, 1), (Shape{1, 2, 57, 57}));
  // torch.nn.MaxPool2d(2, 2, padding=1, ceil_mode=True) on 5x5 gives 3x3: a 4th window would start
  // in the bottom padding.
  EXPECT_EQ(out(5, 2, 2, 1, 1), (Shape{1, 2, 3, 3}));
}

TEST(AvgPool2d, DivisorExcludesOrIncludesPadding) {
  // 3x3 input 1..9, 2x2 windows at stride 2, bottom/right padding 1: the last window holds only
  // x[2,2] = 9.
  for (int64_t include : {0, 1}) {
    OpCase c;
    c.op = "avg_pool2d";
    c.attrs = {{"kernel_shape", std::vector<int64_t>{2, 2}},
               {"pads", std::vector<int64_t>{0, 0, 1, 1}},
               {"count_include_pad", include}};
    c.inputs = {nhwc({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})};
    for (KernelKind k : kBoth) {
      const OpRun r = run_op(c, k, {Tensor::from({1, 1, 2, 2}, {4, 4, 4, 4})});
      const float* y = r.outputs[0].data<float>();
      EXPECT_FLOAT_EQ(y[0], (1 + 2 + 4 + 5) / 4.f);
      EXPECT_FLOAT_EQ(y[1], include ? (3 + 6) / 4.f : (3 + 6) / 2.f);
      EXPECT_FLOAT_EQ(y[3], include ? 9 / 4.f : 9.f);
      EXPECT_FLOAT_EQ(r.grads[0].data<float>()[8], include ? 1.f : 4.f);
    }
  }
}

TEST(AvgPool2d, CeilModeRowsAreNeverCounted) {
  // No explicit padding; ceil_mode adds a last window over row/column 2 only. Even with
  // count_include_pad it averages just the data (PyTorch's divisor).
  OpCase c;
  c.op = "avg_pool2d";
  c.attrs = {{"kernel_shape", std::vector<int64_t>{2, 2}},
             {"ceil_mode", int64_t{1}},
             {"count_include_pad", int64_t{1}}};
  c.inputs = {nhwc({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})};
  for (KernelKind k : kBoth) {
    const OpRun r = run_op(c, k);
    ASSERT_EQ(r.outputs[0].shape(), (Shape{1, 1, 2, 2}));
    EXPECT_FLOAT_EQ(r.outputs[0].data<float>()[1], (3 + 6) / 2.f);
    EXPECT_FLOAT_EQ(r.outputs[0].data<float>()[3], 9.f);
  }
}

TEST(Pool2d, RejectsBadAttributesAndShapes) {
  for (const char* op : {"max_pool2d", "avg_pool2d"}) {
    // Padding as large as the kernel.
    EXPECT_THROW(run_op(pool_case(op, {1, 1, 5, 5}, {2, 2}, {2, 2}, {2, 0, 0, 0}, 0, 1),
                        KernelKind::cpu_ref),
                 InputError);
    // Kernel larger than the input.
    EXPECT_THROW(run_op(pool_case(op, {1, 1, 2, 2}, {3, 3}, {1, 1}, {0, 0, 0, 0}, 0, 1),
                        KernelKind::cpu_ref),
                 InputError);
    // Rank 3 input.
    EXPECT_THROW(
        run_op(pool_case(op, {1, 5, 5}, {2, 2}, {2, 2}, {0, 0, 0, 0}, 0, 1), KernelKind::cpu_ref),
        InputError);
    // No kernel_shape.
    OpCase c = pool_case(op, {1, 1, 4, 4}, {2, 2}, {2, 2}, {0, 0, 0, 0}, 0, 1);
    c.attrs.erase("kernel_shape");
    EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
    // ceil_mode not 0/1.
    EXPECT_THROW(run_op(pool_case(op, {1, 1, 4, 4}, {2, 2}, {2, 2}, {0, 0, 0, 0}, 2, 1),
                        KernelKind::cpu_ref),
                 InputError);
  }
}

}  // namespace
}  // namespace qf::test
