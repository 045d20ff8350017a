// Every op's CUDA kernel against its CPU reference kernel on the same data: forward outputs,
// updated state inputs and every gradient (tests/op_check.h check_cuda_matches_ref; float32 with
// TF32 off, tolerance |cuda - ref| <= tol * (1 + |ref|), 1e-4 unless a case says otherwise), with
// shapes that exercise each kernel's paths. Skipped, saying why, where no GPU is usable; the ops'
// semantics are tested on the CPU by tests/nn and tests/quant in every build.
#include <gtest/gtest.h>

#include "tests/op_check.h"

namespace qf::test {
namespace {

using I = std::vector<int64_t>;

OpCase conv_case(Shape x, Shape w, bool bias, I strides, I pads, I dil, int64_t group,
                 uint64_t seed) {
  OpCase c;
  c.op = "conv2d";
  c.attrs = {{"strides", strides}, {"pads", pads}, {"dilations", dil}, {"group", group}};
  c.inputs = {random_tensor(x, seed), random_tensor(w, seed + 1),
              bias ? random_tensor({w[0]}, seed + 2) : Tensor()};
  c.cuda_tol = 2e-4;
  return c;
}

TEST(CudaOps, Conv2d) {
  QF_SKIP_WITHOUT_GPU();
  // 3x3 dense (KRSC weight copy), pointwise, depthwise, strided with bias, dilated grouped,
  // asymmetric padding (explicitly padded input), the MobileNet stem (C = 3).
  check_cuda_matches_ref(
      conv_case({4, 16, 14, 14}, {32, 16, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 1));
  check_cuda_matches_ref(
      conv_case({4, 32, 14, 14}, {64, 32, 1, 1}, false, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, 2));
  check_cuda_matches_ref(
      conv_case({3, 32, 9, 9}, {32, 1, 3, 3}, false, {2, 2}, {1, 1, 1, 1}, {1, 1}, 32, 3));
  check_cuda_matches_ref(
      conv_case({2, 8, 10, 11}, {12, 4, 3, 2}, true, {2, 1}, {1, 0, 1, 0}, {2, 1}, 2, 4));
  check_cuda_matches_ref(
      conv_case({2, 6, 9, 8}, {5, 6, 3, 3}, true, {2, 2}, {0, 1, 1, 0}, {1, 1}, 1, 5));
  check_cuda_matches_ref(
      conv_case({2, 3, 28, 28}, {8, 3, 3, 3}, false, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1, 6));
  OpCase eval = conv_case({2, 8, 7, 7}, {8, 8, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 7);
  eval.mode = Mode::eval;
  check_cuda_matches_ref(eval);
}

TEST(CudaOps, Conv2dWithTf32StaysWithinTf32Precision) {
  QF_SKIP_WITHOUT_GPU();
  // TF32 keeps 10 mantissa bits: products are exact to about 1e-3 relative.
  OpCase c = conv_case({8, 64, 14, 14}, {64, 64, 3, 3}, false, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 8);
  for (auto& t : c.inputs)
    if (t.defined()) t = to_dtype(t, DType::f32);
  const OpRun ref = run_op(c, KernelKind::cpu_ref);
  const OpRun tf32 = run_op_on(c, test_cuda_context(/*tf32=*/true));
  EXPECT_LE(max_rel_diff(tf32.outputs[0], ref.outputs[0]), 2e-2);
}

OpCase bn_case(Shape x, int64_t frozen, Mode mode, uint64_t seed) {
  const int64_t C = x[1];
  OpCase c;
  c.op = "batch_norm";
  c.attrs = {{"epsilon", 1e-5}, {"momentum", 0.1}, {"use_running_stats", frozen}};
  c.inputs = {random_tensor(x, seed, -2, 3), random_tensor({C}, seed + 1, 0.5, 1.5),
              random_tensor({C}, seed + 2), random_tensor({C}, seed + 3),
              random_tensor({C}, seed + 4, 0.5, 2)};
  c.mode = mode;
  c.cuda_tol = 5e-4;
  return c;
}

TEST(CudaOps, BatchNorm) {
  QF_SKIP_WITHOUT_GPU();
  check_cuda_matches_ref(bn_case({8, 32, 7, 7}, 0, Mode::train, 1));     // batch statistics
  check_cuda_matches_ref(bn_case({4, 70, 5, 3}, 0, Mode::train, 2));     // C not a multiple of 32
  check_cuda_matches_ref(bn_case({64, 48}, 0, Mode::train, 3));          // 2-D
  check_cuda_matches_ref(bn_case({8, 16, 6, 6}, 1, Mode::train, 4));     // frozen statistics
  check_cuda_matches_ref(bn_case({8, 16, 6, 6}, 0, Mode::eval, 5));      // eval
  check_cuda_matches_ref(bn_case({2, 8, 128, 128}, 0, Mode::train, 6));  // many row chunks
}

TEST(CudaOps, BatchNormRejectsOneValuePerChannel) {
  QF_SKIP_WITHOUT_GPU();
  const OpCase c = as_float32(bn_case({1, 4, 1, 1}, 0, Mode::train, 7));
  EXPECT_THROW(run_op(c, KernelKind::cuda), InputError);
}

TEST(CudaOps, Activations) {
  QF_SKIP_WITHOUT_GPU();
  const std::vector<std::pair<const char*, std::vector<double>>> ops = {{"relu", {0}},
                                                                        {"relu6", {0, 6}},
                                                                        {"hardsigmoid", {-3, 3}},
                                                                        {"hardswish", {-3, 3}},
                                                                        {"sigmoid", {}}};
  for (const auto& [op, kinks] : ops) {
    OpCase c;
    c.op = op;
    c.inputs = {random_away_from({4, 16, 9, 9}, 11, -8, 8, kinks)};
    c.cuda_tol = 1e-6;
    check_cuda_matches_ref(c);
  }
  OpCase hs;
  hs.op = "hardsigmoid";
  hs.attrs = {{"alpha", 0.2}, {"beta", 0.4}};
  hs.inputs = {random_away_from({1000}, 12, -5, 5, {-2, 3})};
  hs.cuda_tol = 1e-6;
  check_cuda_matches_ref(hs);
}

OpCase binary(const char* op, Shape a, Shape b, uint64_t seed) {
  OpCase c;
  c.op = op;
  c.inputs = {random_tensor(a, seed), random_tensor(b, seed + 1)};
  c.cuda_tol = 1e-4;  // gradients of broadcast operands are sums of up to 3200 terms
  return c;
}

TEST(CudaOps, AddAndMulWithBroadcasting) {
  QF_SKIP_WITHOUT_GPU();
  for (const char* op : {"add", "mul"}) {
    check_cuda_matches_ref(binary(op, {4, 16, 7, 7}, {4, 16, 7, 7}, 1));  // same shape
    check_cuda_matches_ref(binary(op, {4, 16, 7, 7}, {4, 16, 1, 1}, 2));  // squeeze-excitation
    check_cuda_matches_ref(binary(op, {4, 16, 7, 7}, {16, 1, 1}, 3));     // per channel
    check_cuda_matches_ref(binary(op, {2, 64, 40, 40}, {64, 1, 1}, 4));   // long per-channel sums
    check_cuda_matches_ref(binary(op, {3, 5}, {5}, 5));                   // rank 2 with rank 1
    check_cuda_matches_ref(binary(op, {2, 1, 4}, {3, 1}, 6));             // both broadcast
    check_cuda_matches_ref(binary(op, {4, 8, 3, 3}, {1}, 7));             // scalar
  }
}

OpCase pool_case(const char* op, Shape x, I k, I s, I pads, int64_t ceil_mode, uint64_t seed) {
  OpCase c;
  c.op = op;
  c.attrs = {{"kernel_shape", k}, {"strides", s}, {"pads", pads}, {"ceil_mode", ceil_mode}};
  c.inputs = {random_tensor(x, seed)};
  c.cuda_tol = 1e-5;
  return c;
}

TEST(CudaOps, Pooling) {
  QF_SKIP_WITHOUT_GPU();
  check_cuda_matches_ref(
      pool_case("max_pool2d", {4, 64, 28, 28}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 0, 1));
  check_cuda_matches_ref(
      pool_case("max_pool2d", {2, 5, 9, 10}, {3, 2}, {2, 3}, {1, 0, 2, 1}, 1, 2));
  check_cuda_matches_ref(
      pool_case("avg_pool2d", {2, 70, 9, 11}, {3, 3}, {2, 2}, {1, 2, 0, 1}, 1, 3));
  OpCase inc = pool_case("avg_pool2d", {2, 3, 5, 5}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 1, 4);
  inc.attrs.set("count_include_pad", int64_t{1});
  check_cuda_matches_ref(inc);
  // Ties everywhere: the gradient must go to the first maximum of each window, as on the CPU.
  OpCase ties = pool_case("max_pool2d", {2, 4, 8, 8}, {3, 3}, {1, 1}, {1, 1, 1, 1}, 0, 5);
  ties.inputs[0] = Tensor::zeros({2, 4, 8, 8}, DType::f64);
  check_cuda_matches_ref(ties);
  OpCase gap;
  gap.op = "global_avg_pool";
  gap.inputs = {random_tensor({4, 40, 7, 7}, 6)};
  gap.cuda_tol = 1e-5;
  check_cuda_matches_ref(gap);
}

TEST(CudaOps, FlattenLinearDropout) {
  QF_SKIP_WITHOUT_GPU();
  for (Shape x : {Shape{4, 8, 3, 5}, Shape{4, 16, 1, 1}, Shape{6, 10}}) {
    OpCase f;
    f.op = "flatten";
    f.inputs = {random_tensor(x, 1)};
    f.cuda_tol = 0;  // a permutation: exact
    check_cuda_matches_ref(f);
  }
  for (bool bias : {true, false}) {
    OpCase l;
    l.op = "linear";
    l.inputs = {random_tensor({32, 100}, 2), random_tensor({10, 100}, 3),
                bias ? random_tensor({10}, 4) : Tensor()};
    l.cuda_tol = 1e-4;
    check_cuda_matches_ref(l);
  }
  // Dropout masks are a pure function of (seed, step, node name, index): bit-identical to the CPU.
  OpCase d;
  d.op = "dropout";
  d.attrs = {{"ratio", 0.3}};
  d.inputs = {random_tensor({4, 16, 9, 9}, 5)};
  d.step = StepInfo{17, 42};
  d.cuda_tol = 0;
  check_cuda_matches_ref(d);
  d.mode = Mode::eval;
  check_cuda_matches_ref(d);
}

TEST(CudaOps, SoftmaxCrossEntropy) {
  QF_SKIP_WITHOUT_GPU();
  for (double eps : {0.0, 0.1}) {
    OpCase c;
    c.op = "softmax_cross_entropy";
    c.attrs = {{"label_smoothing", eps}};
    Tensor labels = Tensor::empty({64}, DType::i32);
    for (int i = 0; i < 64; ++i) labels.data<int32_t>()[i] = (i * 37) % 1000;
    c.inputs = {random_tensor({64, 1000}, 7, -5, 5), labels};
    c.cuda_tol = 1e-5;
    check_cuda_matches_ref(c);
  }
  OpCase bad;
  bad.op = "softmax_cross_entropy";
  Tensor labels = Tensor::empty({3}, DType::i32);
  labels.data<int32_t>()[0] = 1;
  labels.data<int32_t>()[1] = 5;
  labels.data<int32_t>()[2] = 0;
  bad.inputs = {random_tensor({3, 4}, 8, -1, 1, DType::f32), labels};
  try {
    run_op(bad, KernelKind::cuda);
    ADD_FAILURE() << "a label outside [0, K) must be an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("label 5 at position 1"), std::string::npos) << e.what();
  }
}

TEST(CudaOps, QuantizeAndDequantizeLinear) {
  QF_SKIP_WITHOUT_GPU();
  // Per tensor into int8 with a zero point, into uint8 without, per axis on weights, int16.
  auto tensor_i = [](DType t, std::vector<int> v) {
    Tensor r = Tensor::empty({static_cast<int64_t>(v.size())}, t);
    for (size_t i = 0; i < v.size(); ++i) {
      if (t == DType::i8) r.data<int8_t>()[i] = static_cast<int8_t>(v[i]);
      if (t == DType::u8) r.data<uint8_t>()[i] = static_cast<uint8_t>(v[i]);
      if (t == DType::i16) r.data<int16_t>()[i] = static_cast<int16_t>(v[i]);
      if (t == DType::i32) r.data<int32_t>()[i] = v[i];
    }
    return r;
  };
  OpCase q;
  q.op = "quantize_linear";
  q.inputs = {random_tensor({4, 8, 5, 5}, 1, -3, 3), Tensor::from({1}, {0.02f}),
              tensor_i(DType::i8, {3})};
  q.cuda_tol = 0;
  q.mode = Mode::eval;
  check_cuda_matches_ref(q);
  q.inputs.resize(2);
  check_cuda_matches_ref(q);
  OpCase pa;
  pa.op = "quantize_linear";
  pa.attrs = {{"axis", int64_t{0}}};
  pa.inputs = {random_tensor({3, 4, 3, 3}, 2), Tensor::from({3}, {0.01f, 0.02f, 0.005f}),
               tensor_i(DType::i16, {0, 1, -2})};
  pa.cuda_tol = 0;
  pa.mode = Mode::eval;
  check_cuda_matches_ref(pa);
  OpCase dq;
  dq.op = "dequantize_linear";
  dq.attrs = {{"axis", int64_t{0}}};
  dq.inputs = {tensor_i(DType::i32, {-1000, 7, 250, 3}),
               Tensor::from({4}, {0.1f, 0.2f, 0.3f, 0.4f}), tensor_i(DType::i32, {1, 2, 3, 4})};
  dq.cuda_tol = 0;
  dq.mode = Mode::eval;
  check_cuda_matches_ref(dq);
  dq.inputs = {tensor_i(DType::u8, {0, 128, 255}), Tensor::from({1}, {0.5f}),
               tensor_i(DType::u8, {128})};
  dq.attrs = {};
  check_cuda_matches_ref(dq);
}

}  // namespace
}  // namespace qf::test
