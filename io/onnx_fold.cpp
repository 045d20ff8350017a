// Constant folding for ONNX import (contract in io/onnx_fold.h): one short function per op, looked
// up in a table; each checks its own attributes and inputs and ends in an InputError naming the
// node when they do not fit, so that no value from the file reaches an index, a division or an
// allocation unchecked.
//
// Values keep their dtype through ops that only move elements (Gather, Slice, Concat, Squeeze,
// Unsqueeze, Reshape, Identity). Integer arithmetic (Add, Sub, Mul, Div on int32 / int64) is
// done in int64 with overflow checks; anything else computes in float. Conversions to integers
// (Cast) refuse NaN, infinities and values outside the target type.
#include "io/onnx_fold.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "io/onnx_file.h"

namespace qf {
namespace {

// A folded tensor may have at most this many elements, or as many as its largest input: shape
// arithmetic is tiny, weight dequantization (Cast + Mul of an initializer) keeps the size of the
// weight, and nothing an exporter writes broadcasts constants into something larger.
constexpr int64_t kMaxFoldedElements = int64_t{1} << 20;

struct FoldCall {
  const onnx::NodeProto& node;
  const std::vector<Tensor>& in;
  const Shape* shape0;
  int64_t opset;
  const std::string& where;

  // Input i, which must be present.
  const Tensor& input(size_t i, const char* what) const {
    if (i >= in.size() || !in[i].defined())
      throw_input_error(where, ": input ", what, " is missing");
    return in[i];
  }
  bool has(size_t i) const { return i < in.size() && in[i].defined(); }
};

const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t dflt) {
  const auto* a = find_attr(n, name);
  return a ? a->i() : dflt;
}

std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const std::string& name) {
  const auto* a = find_attr(n, name);
  if (!a) return {};
  return {a->ints().begin(), a->ints().end()};
}

bool is_integer(DType t) {
  return t == DType::i64 || t == DType::i32 || t == DType::i16 || t == DType::i8 || t == DType::u8;
}

int64_t int_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::i64:
      return t.data<int64_t>()[i];
    case DType::i32:
      return t.data<int32_t>()[i];
    case DType::i16:
      return t.data<int16_t>()[i];
    case DType::i8:
      return t.data<int8_t>()[i];
    case DType::u8:
      return t.data<uint8_t>()[i];
    default:
      break;
  }
  QF_CHECK(false, "int_at on a ", dtype_name(t.dtype()), " tensor");
  return 0;
}

double real_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32:
      return t.data<float>()[i];
    case DType::f64:
      return t.data<double>()[i];
    default:
      return static_cast<double>(int_at(t, i));
  }
}

Tensor int64_tensor(const Shape& s, const std::vector<int64_t>& v) {
  Tensor t = Tensor::empty(s, DType::i64);
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}

// Elements `picks` of the 1-D (or scalar) tensor x, in order, as a 1-D tensor of x's dtype.
Tensor pick(const Tensor& x, const std::vector<int64_t>& picks, const Shape& shape) {
  Tensor r = Tensor::empty(shape, x.dtype());
  const size_t e = dtype_size(x.dtype());
  for (size_t k = 0; k < picks.size(); ++k)
    std::memcpy(static_cast<char*>(r.raw()) + k * e,
                static_cast<const char*>(x.raw()) + static_cast<size_t>(picks[k]) * e, e);
  return r;
}

// An axis in [-rank, rank) as a non-negative index; InputError otherwise.
int64_t axis_index(int64_t axis, int64_t rank, const FoldCall& c, const char* what) {
  if (axis < -rank || axis >= rank)
    throw_input_error(c.where, ": ", what, " ", axis, " is out of range for rank ", rank,
                      " (allowed: ", -rank, " to ", rank - 1, ")");
  return axis < 0 ? axis + rank : axis;
}

// Axes given as an attribute (opset < 13) or as input 1 (opset >= 13).
std::vector<int64_t> axes_of(const FoldCall& c) {
  if (c.opset >= 13) return c.has(1) ? int_values(c.in[1], c.where) : std::vector<int64_t>{};
  return attr_ints(c.node, "axes");
}

void check_folded_size(const Shape& y, int64_t largest_input, const FoldCall& c) {
  numel_within(y, std::max(largest_input, kMaxFoldedElements), c.where + ": folded result");
}

// --- one function per op --------------------------------------------------------------------

Tensor fold_constant(const FoldCall& c) {
  return onnx_constant_value(c.node, c.where);
}

Tensor fold_identity(const FoldCall& c) {
  return c.input(0, "input");
}

Tensor fold_shape(const FoldCall& c) {
  // The shape of an activation (inferred at import) or of a constant.
  const Shape& shape = c.shape0 ? *c.shape0 : c.input(0, "data").shape();
  const int64_t r = static_cast<int64_t>(shape.size());
  auto clamp = [r](int64_t v) { return std::clamp(v < 0 ? v + r : v, int64_t{0}, r); };
  const int64_t start = clamp(attr_int(c.node, "start", 0));
  const int64_t end = std::max(start, clamp(attr_int(c.node, "end", r)));
  std::vector<int64_t> v(shape.begin() + start, shape.begin() + end);
  return int64_tensor({static_cast<int64_t>(v.size())}, v);
}

Tensor fold_gather(const FoldCall& c) {
  const Tensor& data = c.input(0, "data");
  const Tensor& idx = c.input(1, "indices");
  if (attr_int(c.node, "axis", 0) != 0 || data.rank() != 1)
    throw_input_error(c.where, ": only Gather on axis 0 of a 1-D constant folds");
  std::vector<int64_t> ix = int_values(idx, c.where);
  for (int64_t& i : ix) {
    if (i < -data.numel() || i >= data.numel())
      throw_input_error(c.where, ": Gather index ", i, " is out of range for ", data.numel(),
                        " values");
    if (i < 0) i += data.numel();
  }
  return pick(data, ix, idx.rank() == 0 ? Shape{} : Shape{static_cast<int64_t>(ix.size())});
}

Tensor fold_unsqueeze(const FoldCall& c) {
  const Tensor& data = c.input(0, "data");
  std::vector<int64_t> axes = axes_of(c);
  if (axes.empty()) throw_input_error(c.where, ": Unsqueeze needs at least one axis");
  if (data.rank() + axes.size() > kMaxOnnxRank)
    throw_input_error(c.where, ": Unsqueeze to rank ", data.rank() + axes.size(),
                      " (allowed: at most ", kMaxOnnxRank, ")");
  const int64_t r = static_cast<int64_t>(data.rank() + axes.size());
  for (int64_t& a : axes) a = axis_index(a, r, c, "Unsqueeze axis");
  std::sort(axes.begin(), axes.end());
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    throw_input_error(c.where, ": Unsqueeze names an axis twice");
  Shape s = data.shape();
  for (int64_t a : axes) s.insert(s.begin() + a, 1);
  return data.clone().reshape(s);
}

Tensor fold_squeeze(const FoldCall& c) {
  const Tensor& data = c.input(0, "data");
  const Shape& s = data.shape();
  const int64_t r = static_cast<int64_t>(s.size());
  std::vector<bool> drop(s.size(), false);
  const std::vector<int64_t> axes = axes_of(c);
  for (int64_t a : axes) {
    const int64_t i = axis_index(a, r, c, "Squeeze axis");
    if (s[i] != 1)
      throw_input_error(c.where, ": Squeeze of axis ", a, " of size ", s[i], " (allowed: size 1)");
    drop[i] = true;
  }
  Shape out;
  for (int64_t i = 0; i < r; ++i)
    if (!(axes.empty() ? s[i] == 1 : drop[i])) out.push_back(s[i]);
  return data.clone().reshape(out);
}

Tensor fold_concat(const FoldCall& c) {
  std::vector<int64_t> picks;
  const Tensor* first = nullptr;
  int64_t total = 0;
  for (const Tensor& x : c.in) {
    if (!x.defined()) continue;
    if (x.rank() > 1) throw_input_error(c.where, ": only Concat of 1-D constants folds");
    if (first && x.dtype() != first->dtype())
      throw_input_error(c.where, ": Concat of ", dtype_name(first->dtype()), " and ",
                        dtype_name(x.dtype()), " constants (allowed: one type)");
    if (!first) first = &x;
    total += x.numel();
  }
  if (!first) throw_input_error(c.where, ": Concat without inputs");
  const int64_t axis = attr_int(c.node, "axis", 0);
  if (axis != 0 && axis != -1)
    throw_input_error(c.where, ": Concat axis ", axis, " of 1-D constants (allowed: 0, -1)");
  Tensor r = Tensor::empty({total}, first->dtype());
  const size_t e = dtype_size(first->dtype());
  size_t at = 0;
  for (const Tensor& x : c.in) {
    if (!x.defined()) continue;
    std::memcpy(static_cast<char*>(r.raw()) + at, x.raw(), x.nbytes());
    at += static_cast<size_t>(x.numel()) * e;
  }
  return r;
}

// x converted to `to`, refusing values the target type cannot hold.
Tensor cast_to(const Tensor& x, DType to, const FoldCall& c) {
  Tensor r = Tensor::empty(x.shape(), to);
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (to == DType::f32) {
      r.data<float>()[i] = static_cast<float>(real_at(x, i));
      continue;
    }
    const double lo = to == DType::i32 ? std::numeric_limits<int32_t>::min() : -0x1p63;
    const double hi = to == DType::i32 ? std::numeric_limits<int32_t>::max() : 0x1p63;
    int64_t v;
    if (is_integer(x.dtype())) {
      v = int_at(x, i);
    } else {
      const double d = real_at(x, i);
      if (!(d >= lo && d < hi))  // also NaN
        throw_input_error(c.where, ": Cast of ", d, " to ", dtype_name(to), " (out of range)");
      v = static_cast<int64_t>(d);
    }
    if (to == DType::i32) {
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        throw_input_error(c.where, ": Cast of ", v, " to int32 (out of range)");
      r.data<int32_t>()[i] = static_cast<int32_t>(v);
    } else {
      r.data<int64_t>()[i] = v;
    }
  }
  return r;
}

Tensor fold_cast(const FoldCall& c) {
  const int64_t to = attr_int(c.node, "to", 0);
  const Tensor& x = c.input(0, "input");
  if (to == onnx::TensorProto::FLOAT) return cast_to(x, DType::f32, c);
  if (to == onnx::TensorProto::INT32) return cast_to(x, DType::i32, c);
  if (to == onnx::TensorProto::INT64) return cast_to(x, DType::i64, c);
  throw_input_error(c.where, ": Cast to type ", to,
                    " does not fold (allowed: FLOAT, INT32, INT64)");
}

// One value of a starts / ends / steps input or attribute of a 1-D Slice.
int64_t slice_param(const std::vector<int64_t>& v, const FoldCall& c, const char* what) {
  if (v.size() != 1)
    throw_input_error(c.where, ": Slice of a 1-D constant needs one ", what, " value, got ",
                      v.size());
  return v[0];
}

Tensor fold_slice(const FoldCall& c) {
  const Tensor& x = c.input(0, "data");
  if (x.rank() != 1) throw_input_error(c.where, ": only Slice of a 1-D constant folds");
  int64_t start, end, step = 1;
  if (c.opset >= 10) {
    start = slice_param(int_values(c.input(1, "starts"), c.where), c, "starts");
    end = slice_param(int_values(c.input(2, "ends"), c.where), c, "ends");
    if (c.has(3))
      axis_index(slice_param(int_values(c.in[3], c.where), c, "axes"), 1, c, "Slice axis");
    if (c.has(4)) step = slice_param(int_values(c.in[4], c.where), c, "steps");
  } else {
    start = slice_param(attr_ints(c.node, "starts"), c, "starts");
    end = slice_param(attr_ints(c.node, "ends"), c, "ends");
  }
  if (step == 0) throw_input_error(c.where, ": Slice step 0");
  const int64_t len = x.numel();
  auto clamp = [len](int64_t v, int64_t lo, int64_t hi) {
    return std::clamp(v < 0 ? v + len : v, lo, hi);
  };
  std::vector<int64_t> picks;
  if (step > 0) {
    for (int64_t i = clamp(start, 0, len), e = clamp(end, 0, len); i < e;
         i += std::min(step, e - i))
      picks.push_back(i);
  } else {
    const int64_t stride =
        step == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -step;
    for (int64_t i = clamp(start, -1, len - 1), e = clamp(end, -1, len - 1); i > e;
         i -= std::min(stride, i - e))
      picks.push_back(i);
  }
  return pick(x, picks, {static_cast<int64_t>(picks.size())});
}

Tensor fold_reshape(const FoldCall& c) {
  const Tensor& x = c.input(0, "data");
  std::vector<int64_t> want = int_values(c.input(1, "shape"), c.where);
  if (want.size() > kMaxOnnxRank)
    throw_input_error(c.where, ": Reshape to rank ", want.size(), " (allowed: at most ",
                      kMaxOnnxRank, ")");
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < want.size(); ++i) {
    if (want[i] == 0 && i < x.shape().size() && attr_int(c.node, "allowzero", 0) == 0)
      want[i] = x.shape()[i];
    if (want[i] == -1) {
      if (infer >= 0) throw_input_error(c.where, ": Reshape target has two -1 dimensions");
      infer = static_cast<int64_t>(i);
      continue;
    }
    if (want[i] < 0)
      throw_input_error(c.where, ": Reshape target dimension ", want[i], " (allowed: -1 or >= 0)");
    const std::optional<int64_t> p = checked_mul(known, want[i]);
    if (!p) throw_input_error(c.where, ": Reshape target ", shape_str(want), " is too large");
    known = *p;
  }
  if (infer >= 0 && known > 0) want[infer] = x.numel() / known;
  if (checked_numel(want) != x.numel())
    throw_input_error(c.where, ": Reshape of a constant of ", x.numel(), " values to ",
                      shape_str(want));
  return x.clone().reshape(want);
}

// p (op) q on int64 values, refusing overflow and division by zero.
int64_t int_op(const std::string& op, int64_t p, int64_t q, const FoldCall& c) {
  int64_t r = 0;
  bool overflow = false;
  if (op == "Add") {
    overflow = __builtin_add_overflow(p, q, &r);
  } else if (op == "Sub") {
    overflow = __builtin_sub_overflow(p, q, &r);
  } else if (op == "Mul") {
    overflow = __builtin_mul_overflow(p, q, &r);
  } else {
    if (q == 0) throw_input_error(c.where, ": integer division by zero in a constant");
    overflow = p == std::numeric_limits<int64_t>::min() && q == -1;
    if (!overflow) r = p / q;
  }
  if (overflow)
    throw_input_error(c.where, ": integer ", op, " of ", p, " and ", q, " overflows int64");
  return r;
}

// numpy broadcasting over row-major constants (integers stay integer in int64, anything else
// computes in float, as a runtime would): enough for shape arithmetic and for weight
// dequantization written as Cast + Mul.
Tensor fold_arithmetic(const FoldCall& c) {
  const std::string& op = c.node.op_type();
  const Tensor& a = c.input(0, "A");
  const Tensor& b = c.input(1, "B");
  const size_t r = std::max(a.rank(), b.rank());
  auto dim = [r](const Shape& s, size_t i) {
    return i < r - s.size() ? int64_t{1} : s[i - (r - s.size())];
  };
  Shape y(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = dim(a.shape(), i), db = dim(b.shape(), i);
    if (da != db && da != 1 && db != 1)
      throw_input_error(c.where, ": ", op, " of constants with shapes ", shape_str(a.shape()),
                        " and ", shape_str(b.shape()), " that do not broadcast");
    y[i] = da == 1 ? db : da;
  }
  check_folded_size(y, std::max(a.numel(), b.numel()), c);
  auto strides = [&](const Shape& s) {
    std::vector<int64_t> st(r, 0);
    int64_t acc = 1;
    for (size_t i = r; i-- > 0;) {
      const int64_t d = dim(s, i);
      st[i] = d == 1 ? 0 : acc;
      acc *= d;
    }
    return st;
  };
  const std::vector<int64_t> sa = strides(a.shape()), sb = strides(b.shape());
  const bool ints = (a.dtype() == DType::i64 || a.dtype() == DType::i32) &&
                    (b.dtype() == DType::i64 || b.dtype() == DType::i32);
  Tensor out = Tensor::empty(y, ints ? DType::i64 : DType::f32);
  std::vector<int64_t> idx(r, 0);
  for (int64_t k = 0, n = numel(y); k < n; ++k) {
    int64_t oa = 0, ob = 0;
    for (size_t i = 0; i < r; ++i) {
      oa += idx[i] * sa[i];
      ob += idx[i] * sb[i];
    }
    if (ints) {
      out.data<int64_t>()[k] = int_op(op, int_at(a, oa), int_at(b, ob), c);
    } else {  // float operands multiply in float, as a runtime would
      const float p = static_cast<float>(real_at(a, oa)), q = static_cast<float>(real_at(b, ob));
      out.data<float>()[k] = op == "Add"   ? p + q
                             : op == "Sub" ? p - q
                             : op == "Mul" ? p * q
                                           : p / q;
    }
    for (size_t i = r; i-- > 0;) {
      if (++idx[i] < y[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

using FoldFn = Tensor (*)(const FoldCall&);

const std::unordered_map<std::string, FoldFn>& folders() {
  static const std::unordered_map<std::string, FoldFn> table = {
      {"Constant", fold_constant}, {"Identity", fold_identity},   {"Shape", fold_shape},
      {"Gather", fold_gather},     {"Unsqueeze", fold_unsqueeze}, {"Squeeze", fold_squeeze},
      {"Concat", fold_concat},     {"Cast", fold_cast},           {"Slice", fold_slice},
      {"Reshape", fold_reshape},   {"Add", fold_arithmetic},      {"Sub", fold_arithmetic},
      {"Mul", fold_arithmetic},    {"Div", fold_arithmetic},
  };
  return table;
}

}  // namespace

bool is_foldable_onnx_op(const std::string& t) {
  return folders().count(t) != 0;
}

std::vector<int64_t> int_values(const Tensor& t, const std::string& where) {
  if (t.dtype() != DType::i64 && t.dtype() != DType::i32)
    throw_input_error(where, ": expected an integer tensor, got ", dtype_name(t.dtype()));
  if (t.rank() > 1)
    throw_input_error(where, ": expected a 1-D integer tensor, got ", shape_str(t.shape()));
  std::vector<int64_t> r(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) r[static_cast<size_t>(i)] = int_at(t, i);
  return r;
}

Tensor onnx_constant_value(const onnx::NodeProto& n, const std::string& where) {
  for (const auto& a : n.attribute()) {
    if (a.name() == "value") return tensor_from_onnx(a.t(), where);
    if (a.name() == "value_float") return Tensor::from({}, {a.f()});
    if (a.name() == "value_floats")
      return Tensor::from({a.floats_size()}, {a.floats().begin(), a.floats().end()});
    if (a.name() == "value_int") return int64_tensor({}, {a.i()});
    if (a.name() == "value_ints")
      return int64_tensor({a.ints_size()}, {a.ints().begin(), a.ints().end()});
  }
  throw_input_error(where,
                    ": Constant without a supported value attribute (value, value_float(s), "
                    "value_int(s))");
}

Tensor fold_onnx_node(const onnx::NodeProto& n, const std::vector<Tensor>& in, const Shape* shape0,
                      int64_t opset, const std::string& where) {
  const auto it = folders().find(n.op_type());
  if (it == folders().end()) throw_input_error(where, ": op ", n.op_type(), " does not fold");
  return it->second(FoldCall{n, in, shape0, opset, where});
}

}  // namespace qf
