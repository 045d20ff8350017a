// softmax_cross_entropy by hand (label smoothing, large logits) and bad labels and shapes on
// every device. Gradient checks and kernel agreement: softmax_cross_entropy_cases.cpp.
#include <gtest/gtest.h>

#include <cmath>

#include "nn/ops/softmax_cross_entropy/softmax_cross_entropy_cases.h"

namespace qf::test {
namespace {

TEST(SoftmaxCrossEntropy, HandComputedWithLabelSmoothing) {
  // Two rows, K = 3; eps = 0.3 gives targets 0.1 off the label and 0.8 on it.
  OpCase c;
  c.op = "softmax_cross_entropy";
  c.attrs = {{"label_smoothing", 0.3}};
  c.inputs = {Tensor::from({2, 3}, {1, 2, 3, 0, 0, 0}), labels_of({2, 0})};
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const double lse1 = std::log(3.0);
  const double l0 = lse0 - (0.1 * 1 + 0.1 * 2 + 0.8 * 3), l1 = lse1 - 0.0;
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(c, k, {Tensor::from({}, {2.f})});
    EXPECT_EQ(r.outputs[0].shape(), Shape{});
    EXPECT_NEAR(r.outputs[0].data<float>()[0], (l0 + l1) / 2, 1e-6);
    // dz = 2 * (softmax - target) / 2
    const float* dz = r.grads[0].data<float>();
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(dz[j], std::exp(1.0 + j - lse0) - (j == 2 ? 0.8 : 0.1), 1e-6) << j;
      EXPECT_NEAR(dz[3 + j], 1.0 / 3 - (j == 0 ? 0.8 : 0.1), 1e-6) << j;
    }
  }
}

TEST(SoftmaxCrossEntropy, StableForLargeLogits) {
  OpCase c;
  c.op = "softmax_cross_entropy";
  c.inputs = {Tensor::from({1, 2}, {1000, 1001}), labels_of({0})};
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    const OpRun r = run_op(c, k, {Tensor::from({}, {1.f})});
    EXPECT_NEAR(r.outputs[0].data<float>()[0], std::log(1 + std::exp(1.0)), 1e-5);
    EXPECT_TRUE(std::isfinite(r.grads[0].data<float>()[0]));
  }
}

TEST(SoftmaxCrossEntropy, LabelOutOfRangeNamesValuePositionAndClasses) {
  OpCase c = xent_case(4, 10, 0.0, 6);
  c.inputs[1] = labels_of({1, 2, 10, 3});
  for (KernelKind k : {KernelKind::cpu, KernelKind::cpu_ref}) {
    try {
      run_op(c, k);
      FAIL() << "no error for label 10 with 10 classes";
    } catch (const InputError& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find("label 10"), std::string::npos) << m;
      EXPECT_NE(m.find("position 2"), std::string::npos) << m;
      EXPECT_NE(m.find("[0, 10)"), std::string::npos) << m;
    }
  }
  c.inputs[1] = labels_of({1, -1, 0, 3});
  EXPECT_THROW(run_op(c, KernelKind::cpu), InputError);
}

TEST(SoftmaxCrossEntropy, RejectsBadShapesAndSmoothing) {
  OpCase c = xent_case(4, 10, 1.0, 7);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = xent_case(4, 10, 0.0, 7);
  c.inputs[1] = labels_of({1, 2, 3});
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = xent_case(4, 10, 0.0, 7);
  c.inputs[1] = to_dtype(c.inputs[1], DType::f32);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
  c = xent_case(4, 10, 0.0, 7);
  c.inputs[0] = random_tensor({4, 10, 1}, 8);
  EXPECT_THROW(run_op(c, KernelKind::cpu_ref), InputError);
}

TEST(SoftmaxCrossEntropy, CudaLabelOutOfRangeIsAnInputError) {
  QF_SKIP_WITHOUT_GPU();
  OpCase bad = as_float32(xent_case(3, 4, 0.0, 8));
  bad.inputs[1] = labels_of({1, 5, 0});
  try {
    run_op(bad, KernelKind::cuda);
    ADD_FAILURE() << "a label outside [0, K) must be an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("label 5 at position 1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qf::test
