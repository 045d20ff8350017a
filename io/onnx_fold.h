// Constant folding for ONNX import: the small integer programs exporters emit to compute shapes
// (torch.onnx's `x.view(x.size(0), -1)` becomes Shape -> Gather -> Unsqueeze -> Concat ->
// Reshape), evaluated on the host at import time so that the graph keeps only real computation.
//
// A node folds when its op is in the set below and every input is known: an initializer, the
// output of an earlier folded node, or — for Shape — any value whose shape import has inferred.
// Supported: Constant, Identity, Shape (start/end), Gather (axis 0 of a 1-D tensor), Unsqueeze,
// Squeeze, Concat, Cast (to float, int32, int64), Slice (1-D), Reshape, and Add / Sub / Mul / Div
// on int64 or float tensors of equal shape or with a scalar operand. Anything else stays a graph
// node (and must then be a supported op).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "nn/tensor.h"

namespace onnx {
class NodeProto;
class AttributeProto;
}  // namespace onnx

namespace qf {

// The highest tensor rank import accepts (classifiers use up to 4; shape computations 1).
constexpr size_t kMaxOnnxRank = 8;

// True for the op types fold_onnx_node can evaluate (Shape needs only its input's shape).
bool is_foldable_onnx_op(const std::string& op_type);

// Evaluates `node` on known host tensors: inputs[i] is the i-th input (undefined when the input
// is absent). For Shape, inputs[0] may be an undefined tensor and `shape0` gives the shape.
// Returns the node's first output; InputError naming `where` when the inputs or the attributes do
// not fit (each op checks its own: axes in range, index bounds, integer overflow, NaN cast to an
// integer) or the result would exceed max(2^20 elements, the largest input).
Tensor fold_onnx_node(const onnx::NodeProto& node, const std::vector<Tensor>& inputs,
                      const Shape* shape0, int64_t opset, const std::string& where);

// The tensor of a Constant node (value, value_float(s), value_int(s)).
Tensor onnx_constant_value(const onnx::NodeProto& node, const std::string& where);

// Integer values of a 1-D (or scalar) int32/int64 tensor.
std::vector<int64_t> int_values(const Tensor& t, const std::string& where);

}  // namespace qf
