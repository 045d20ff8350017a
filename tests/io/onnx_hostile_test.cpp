// ONNX import of hostile models: each class of malformed model the robustness review found (and
// the fuzzer since) is an InputError naming the node or tensor — never a crash, a division by
// zero, an out-of-range index, an overflowed element count or a NaN weight that evaluates to a
// figure. The models are built here with libonnx's protobuf classes, one defect each, on top of a
// small valid CNN.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "io/onnx_import.h"
#include "tests/io/onnx_builder.h"

namespace qf::test {
namespace {

using onnx::TensorProto;

// The import of `m` must end in an InputError whose message holds `needle`.
void expect_refused(const Model& m, const std::string& needle) {
  try {
    import_onnx_model(m.proto(), "ONNX model 'hostile.onnx'");
    ADD_FAILURE() << "imported, expected an InputError with '" << needle << "'";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_NE(msg.find("hostile.onnx"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

// conv -> relu -> global average pool -> flatten: the valid model the tests break.
Model cnn(std::vector<Attr> conv_attrs = {}) {
  Model m;
  m.init(float_tensor("w", {2, 1, 3, 3}))
      .node("Conv", {"x", "w"}, "c", std::move(conv_attrs))
      .node("Relu", {"c"}, "r")
      .node("GlobalAveragePool", {"r"}, "g")
      .node("Flatten", {"g"}, "y")
      .output("y");
  return m;
}

TEST(OnnxHostile, TheBaseModelImports) {
  EXPECT_NO_THROW(import_onnx_model(cnn().proto(), "base"));
}

TEST(OnnxHostile, ConvStrideZeroUnderSameUpper) {
  expect_refused(cnn({ints("strides", {0, 1}), str("auto_pad", "SAME_UPPER")}),
                 "strides value 0 is out of range (allowed: 1 to 65536)");
}

TEST(OnnxHostile, ConvHugePadsAndDilations) {
  expect_refused(cnn({ints("pads", {1, 1, int64_t{1} << 62, 1})}),
                 "pads value 4611686018427387904");
  expect_refused(cnn({ints("dilations", {1, -3})}), "dilations value -3");
  expect_refused(cnn({ints("strides", {1})}), "strides needs 2 values, has 1");
  expect_refused(cnn({one_int("group", 0)}), "group 0");
}

TEST(OnnxHostile, PoolStridesShorterThanKernel) {
  Model m;
  m.node("MaxPool", {"x"}, "p", {ints("kernel_shape", {2, 2}), ints("strides", {2})})
      .node("Flatten", {"p"}, "y")
      .output("y");
  expect_refused(m, "strides needs 2 values, has 1");
  Model same;
  same.node("AveragePool", {"x"}, "p",
            {ints("kernel_shape", {2, 2}), ints("strides", {0, 0}), str("auto_pad", "SAME_UPPER")})
      .node("Flatten", {"p"}, "y")
      .output("y");
  expect_refused(same, "strides value 0");
}

TEST(OnnxHostile, UnsqueezeAxisOutOfRange) {
  Model act;  // of an activation
  act.init(int64_tensor("axes", {-100}))
      .node("Flatten", {"x"}, "f")
      .node("Unsqueeze", {"f", "axes"}, "y")
      .output("y");
  expect_refused(act, "axis -100 is out of range for rank 3");
  Model folded;  // in a shape computation
  folded.init(int64_tensor("axes", {-100}))
      .init(int64_tensor("k", {5}, true))
      .node("Unsqueeze", {"k", "axes"}, "k1")
      .node("Reshape", {"x", "k1"}, "y")
      .output("y");
  expect_refused(folded, "Unsqueeze axis -100 is out of range for rank 1");
}

TEST(OnnxHostile, IntegerDivisionOverflowInConstantFolding) {
  Model m;
  m.init(int64_tensor("a", {std::numeric_limits<int64_t>::min()}))
      .init(int64_tensor("b", {-1}))
      .node("Div", {"a", "b"}, "q")
      .node("Reshape", {"x", "q"}, "y")
      .output("y");
  expect_refused(m, "integer Div of -9223372036854775808 and -1 overflows int64");
  Model zero;
  zero.init(int64_tensor("a", {4}))
      .init(int64_tensor("b", {0}))
      .node("Div", {"a", "b"}, "q")
      .node("Reshape", {"x", "q"}, "y")
      .output("y");
  expect_refused(zero, "integer division by zero");
}

TEST(OnnxHostile, ElementCountsThatOverflow) {
  TensorProto huge;  // dims whose product overflows int64, with no data: once read as 0 elements
  huge.set_name("c");
  huge.set_data_type(TensorProto::FLOAT);
  for (int64_t d : {int64_t{1} << 32, int64_t{1} << 32, int64_t{4}}) huge.add_dims(d);
  huge.set_raw_data("");
  Model add;
  add.init(huge).node("Add", {"x", "c"}, "y").output("y");
  expect_refused(add, "tensor 'c' has shape [4294967296, 4294967296, 4], more data than an ONNX");

  Model input(13, {int64_t{1} << 31, int64_t{1} << 31, 4});  // the graph input itself
  input.node("Flatten", {"x"}, "y").output("y");
  expect_refused(input, "input 'x' per sample: shape [2147483648, 2147483648, 4] has more than");

  Model broadcast;  // folded constants may not grow past their inputs (and 2^20 elements)
  TensorProto col = float_tensor("col", {4096, 1}), row = float_tensor("row", {1, 4096});
  broadcast.init(col)
      .init(row)
      .node("Mul", {"col", "row"}, "big")
      .node("Add", {"x", "big"}, "y")
      .output("y");
  expect_refused(broadcast, "folded result: shape [4096, 4096] has more than 1048576 elements");
}

TEST(OnnxHostile, NonFiniteWeightsAndScalesNameTheTensor) {
  Model nan_weight;
  nan_weight.init(float_tensor("w", {2, 1, 3, 3}, std::nanf("")))
      .node("Conv", {"x", "w"}, "c")
      .node("GlobalAveragePool", {"c"}, "g")
      .node("Flatten", {"g"}, "y")
      .output("y");
  expect_refused(nan_weight, "weight 'w' holds nan at element 0 (allowed: finite values)");

  TensorProto b = float_tensor("b", {2});
  b.set_float_data(1, std::numeric_limits<float>::infinity());
  Model with_bias;
  with_bias.init(float_tensor("w", {2, 1, 3, 3}))
      .init(b)
      .node("Conv", {"x", "w", "b"}, "c")
      .node("GlobalAveragePool", {"c"}, "g")
      .node("Flatten", {"g"}, "y")
      .output("y");
  expect_refused(with_bias, "bias 'b' holds inf at element 1");

  for (float bad : {std::nanf(""), 0.f, -1.f, std::numeric_limits<float>::infinity()}) {
    Model qdq;
    TensorProto scale;
    scale.set_name("s");
    scale.set_data_type(TensorProto::FLOAT);
    scale.add_float_data(bad);
    TensorProto zp;
    zp.set_name("z");
    zp.set_data_type(TensorProto::INT8);
    zp.add_int32_data(0);
    qdq.init(scale)
        .init(zp)
        .node("QuantizeLinear", {"x", "s", "z"}, "q")
        .node("DequantizeLinear", {"q", "s", "z"}, "d")
        .node("Flatten", {"d"}, "y")
        .output("y");
    expect_refused(qdq, "scale 's' holds");
  }
}

TEST(OnnxHostile, MissingInputsAndNonConstantOperands) {
  Model m;
  m.node("Conv", {"x"}, "c").node("Flatten", {"c"}, "y").output("y");
  expect_refused(m, "has 1 inputs (allowed: 2 to 3)");
  Model squeeze;  // opset 13: axes must be a constant
  squeeze.node("Flatten", {"x"}, "f").node("Squeeze", {"f", "f"}, "y").output("y");
  expect_refused(squeeze, "'f' must be a constant");
}

// Found by the fuzzer: Gemm's constant B and C are scaled and broadcast as float32 at import, so
// an integer B or C was read as floats (an internal error, exit 3).
TEST(OnnxHostile, GemmIntegerConstants) {
  auto gemm = [](TensorProto b, TensorProto c) {
    Model m;
    m.init(std::move(b))
        .init(std::move(c))
        .node("Flatten", {"x"}, "f")
        .node("Gemm", {"f", "b", "c"}, "y", {one_int("transB", 1)})
        .output("y");
    return m;
  };
  TensorProto int_b = int64_tensor("b", std::vector<int64_t>(2 * 64, 1));
  int_b.clear_dims();
  int_b.add_dims(2);
  int_b.add_dims(64);
  expect_refused(gemm(float_tensor("b", {2, 64}), int64_tensor("c", {3})),
                 "C 'c' must be float32, is int64");
  expect_refused(gemm(int_b, float_tensor("c", {2})), "B 'b' must be float32, is int64");
}

TEST(OnnxHostile, FoldedCastOfNanToIntegerAndBadSlices) {
  Model cast;
  TensorProto f = float_tensor("f", {1}, 0);
  f.set_float_data(0, std::nanf(""));
  cast.init(f)
      .node("Cast", {"f"}, "i", {one_int("to", TensorProto::INT64)})
      .node("Reshape", {"x", "i"}, "y")
      .output("y");
  expect_refused(cast, "Cast of nan to int64 (out of range)");
  Model slice;
  slice.init(int64_tensor("s", {1, 8, 8}))
      .init(int64_tensor("b", {}))
      .init(int64_tensor("e", {2}))
      .node("Slice", {"s", "b", "e"}, "t")
      .node("Reshape", {"x", "t"}, "y")
      .output("y");
  expect_refused(slice, "Slice of a 1-D constant needs one starts value, got 0");
}

}  // namespace
}  // namespace qf::test
