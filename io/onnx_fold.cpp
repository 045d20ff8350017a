#include "io/onnx_fold.h"

#include <onnx/onnx_pb.h>

#include <algorithm>

#include "io/onnx_file.h"

namespace qf {
namespace {

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

Tensor int64_tensor(const Shape& s, const std::vector<int64_t>& v) {
  Tensor t = Tensor::empty(s, DType::i64);
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}

double value_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::f32: return t.data<float>()[i];
    case DType::f64: return t.data<double>()[i];
    case DType::i32: return t.data<int32_t>()[i];
    case DType::i64: return static_cast<double>(t.data<int64_t>()[i]);
    case DType::i8: return t.data<int8_t>()[i];
    case DType::u8: return t.data<uint8_t>()[i];
    case DType::i16: return t.data<int16_t>()[i];
  }
  return 0;
}

Tensor cast(const Tensor& t, DType to) {
  Tensor r = Tensor::empty(t.shape(), to);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const double v = value_at(t, i);
    switch (to) {
      case DType::f32: r.data<float>()[i] = static_cast<float>(v); break;
      case DType::i32: r.data<int32_t>()[i] = static_cast<int32_t>(v); break;
      default: r.data<int64_t>()[i] = static_cast<int64_t>(v); break;
    }
  }
  return r;
}

// numpy broadcasting over row-major constants (int64 stays integer, anything else computes in
// float): enough for shape arithmetic and for weight dequantization written as Cast + Mul.
Tensor elementwise(const std::string& op, const Tensor& a, const Tensor& b,
                   const std::string& where) {
  const size_t r = std::max(a.shape().size(), b.shape().size());
  Shape y(r);
  auto dim = [&](const Shape& s, size_t i) { return i < r - s.size() ? int64_t{1} : s[i - (r - s.size())]; };
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = dim(a.shape(), i), db = dim(b.shape(), i);
    if (da != db && da != 1 && db != 1)
      throw_input_error(where, ": ", op, " of constants with shapes ", shape_str(a.shape()), " and ",
                        shape_str(b.shape()), " that do not broadcast");
    y[i] = da == 1 ? db : da;
  }
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
  const bool is_int = (a.dtype() == DType::i64 || a.dtype() == DType::i32) &&
                      (b.dtype() == DType::i64 || b.dtype() == DType::i32);
  Tensor out = Tensor::empty(y, is_int ? DType::i64 : DType::f32);
  std::vector<int64_t> idx(r, 0);
  for (int64_t k = 0, n = numel(y); k < n; ++k) {
    int64_t oa = 0, ob = 0;
    for (size_t i = 0; i < r; ++i) {
      oa += idx[i] * sa[i];
      ob += idx[i] * sb[i];
    }
    const double x = value_at(a, oa), v = value_at(b, ob);
    if (is_int) {
      const int64_t p = static_cast<int64_t>(x), q = static_cast<int64_t>(v);
      if (op == "Div" && q == 0)
        throw_input_error(where, ": integer division by zero in a shape computation");
      out.data<int64_t>()[k] = op == "Add" ? p + q : op == "Sub" ? p - q : op == "Mul" ? p * q : p / q;
    } else {
      // Float operands multiply in float, as a runtime would.
      const float p = static_cast<float>(x), q = static_cast<float>(v);
      out.data<float>()[k] = op == "Add" ? p + q : op == "Sub" ? p - q : op == "Mul" ? p * q : p / q;
    }
    for (size_t i = r; i-- > 0;) {
      if (++idx[i] < y[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

Tensor require(const std::vector<Tensor>& in, size_t i, const std::string& where,
               const char* what) {
  if (i >= in.size() || !in[i].defined()) throw_input_error(where, ": input ", what, " is missing");
  return in[i];
}

// Axes given as an attribute (opset < 13) or as input 1 (opset >= 13).
std::vector<int64_t> axes_of(const onnx::NodeProto& n, const std::vector<Tensor>& in,
                             int64_t opset, const std::string& where) {
  if (opset >= 13) return in.size() > 1 && in[1].defined() ? int_values(in[1], where) : std::vector<int64_t>{};
  return attr_ints(n, "axes");
}

}  // namespace

bool is_foldable_onnx_op(const std::string& t) {
  static const char* ops[] = {"Constant", "Identity", "Shape", "Gather", "Unsqueeze", "Squeeze",
                              "Concat",   "Cast",     "Slice", "Reshape", "Add",      "Sub",
                              "Mul",      "Div"};
  for (const char* o : ops)
    if (t == o) return true;
  return false;
}

std::vector<int64_t> int_values(const Tensor& t, const std::string& where) {
  if (t.dtype() != DType::i64 && t.dtype() != DType::i32)
    throw_input_error(where, ": expected an integer tensor, got ", dtype_name(t.dtype()));
  if (t.rank() > 1) throw_input_error(where, ": expected a 1-D integer tensor, got ", shape_str(t.shape()));
  std::vector<int64_t> r(t.numel());  // read as integers: INT64_MAX ("to the end") has no double
  for (int64_t i = 0; i < t.numel(); ++i)
    r[i] = t.dtype() == DType::i64 ? t.data<int64_t>()[i] : t.data<int32_t>()[i];
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
  throw_input_error(where, ": Constant without a supported value attribute (value, value_float(s), "
                    "value_int(s))");
}

Tensor fold_onnx_node(const onnx::NodeProto& n, const std::vector<Tensor>& in, const Shape* shape0,
                      int64_t opset, const std::string& where) {
  const std::string& t = n.op_type();
  if (t == "Constant") return onnx_constant_value(n, where);
  if (t == "Identity") return require(in, 0, where, "input");
  if (t == "Shape") {
    QF_CHECK(shape0, "Shape folded without a shape");
    const int64_t r = static_cast<int64_t>(shape0->size());
    int64_t start = attr_int(n, "start", 0), end = attr_int(n, "end", r);
    start = std::clamp(start < 0 ? start + r : start, int64_t{0}, r);
    end = std::clamp(end < 0 ? end + r : end, int64_t{0}, r);
    std::vector<int64_t> v(shape0->begin() + start, shape0->begin() + std::max(start, end));
    return int64_tensor({static_cast<int64_t>(v.size())}, v);
  }
  if (t == "Gather") {
    const Tensor data = require(in, 0, where, "data");
    const Tensor idx = require(in, 1, where, "indices");
    if (attr_int(n, "axis", 0) != 0 || data.rank() != 1)
      throw_input_error(where, ": only Gather on axis 0 of a 1-D constant folds");
    const std::vector<int64_t> ix = int_values(idx, where);
    std::vector<double> out;
    for (int64_t i : ix) {
      if (i < 0) i += data.numel();
      if (i < 0 || i >= data.numel()) throw_input_error(where, ": Gather index out of range");
      out.push_back(value_at(data, i));
    }
    Tensor r = Tensor::empty(idx.rank() == 0 ? Shape{} : Shape{static_cast<int64_t>(ix.size())},
                             data.dtype() == DType::f32 ? DType::f32 : DType::i64);
    for (size_t i = 0; i < out.size(); ++i) {
      if (r.dtype() == DType::f32)
        r.data<float>()[i] = static_cast<float>(out[i]);
      else
        r.data<int64_t>()[i] = static_cast<int64_t>(out[i]);
    }
    return r;
  }
  if (t == "Unsqueeze" || t == "Squeeze") {
    const Tensor data = require(in, 0, where, "data");
    std::vector<int64_t> axes = axes_of(n, in, opset, where);
    Shape s = data.shape();
    if (t == "Unsqueeze") {
      const int64_t r = static_cast<int64_t>(s.size() + axes.size());
      for (int64_t& a : axes) a = a < 0 ? a + r : a;
      std::sort(axes.begin(), axes.end());
      for (int64_t a : axes) {
        if (a < 0 || a > static_cast<int64_t>(s.size())) throw_input_error(where, ": bad Unsqueeze axis");
        s.insert(s.begin() + a, 1);
      }
    } else {
      const int64_t r = static_cast<int64_t>(s.size());
      Shape out;
      for (int64_t i = 0; i < r; ++i) {
        bool drop = axes.empty() ? s[i] == 1 : false;
        for (int64_t a : axes) drop = drop || (a < 0 ? a + r : a) == i;
        if (!drop) out.push_back(s[i]);
      }
      s = out;
    }
    return data.clone().reshape(s);
  }
  if (t == "Concat") {
    std::vector<double> v;
    bool is_float = false;
    for (const Tensor& x : in) {
      if (!x.defined()) continue;
      if (x.rank() > 1) throw_input_error(where, ": only Concat of 1-D constants folds");
      is_float = is_float || x.dtype() == DType::f32;
      for (int64_t i = 0; i < x.numel(); ++i) v.push_back(value_at(x, i));
    }
    Tensor r = Tensor::empty({static_cast<int64_t>(v.size())}, is_float ? DType::f32 : DType::i64);
    for (size_t i = 0; i < v.size(); ++i) {
      if (is_float)
        r.data<float>()[i] = static_cast<float>(v[i]);
      else
        r.data<int64_t>()[i] = static_cast<int64_t>(v[i]);
    }
    return r;
  }
  if (t == "Cast") {
    const int64_t to = attr_int(n, "to", 0);
    const Tensor x = require(in, 0, where, "input");
    if (to == onnx::TensorProto::FLOAT) return cast(x, DType::f32);
    if (to == onnx::TensorProto::INT32) return cast(x, DType::i32);
    if (to == onnx::TensorProto::INT64) return cast(x, DType::i64);
    throw_input_error(where, ": Cast to type ", to, " does not fold (allowed: FLOAT, INT32, INT64)");
  }
  if (t == "Slice") {
    const Tensor x = require(in, 0, where, "data");
    if (x.rank() != 1) throw_input_error(where, ": only Slice of a 1-D constant folds");
    int64_t start, end, step = 1;
    if (opset >= 10) {
      start = int_values(require(in, 1, where, "starts"), where).at(0);
      end = int_values(require(in, 2, where, "ends"), where).at(0);
      if (in.size() > 4 && in[4].defined()) step = int_values(in[4], where).at(0);
    } else {
      start = attr_ints(n, "starts").at(0);
      end = attr_ints(n, "ends").at(0);
    }
    const int64_t len = x.numel();
    if (step == 0) throw_input_error(where, ": Slice step 0");
    auto clampi = [&](int64_t v, int64_t lo, int64_t hi) { return std::clamp(v < 0 ? v + len : v, lo, hi); };
    std::vector<double> v;
    if (step > 0) {
      for (int64_t i = clampi(start, 0, len), e = clampi(end, 0, len); i < e; i += step)
        v.push_back(value_at(x, i));
    } else {
      for (int64_t i = clampi(start, -1, len - 1), e = clampi(end, -1, len - 1); i > e; i += step)
        v.push_back(value_at(x, i));
    }
    Tensor r = Tensor::empty({static_cast<int64_t>(v.size())}, x.dtype() == DType::f32 ? DType::f32 : DType::i64);
    for (size_t i = 0; i < v.size(); ++i) {
      if (r.dtype() == DType::f32)
        r.data<float>()[i] = static_cast<float>(v[i]);
      else
        r.data<int64_t>()[i] = static_cast<int64_t>(v[i]);
    }
    return r;
  }
  if (t == "Reshape") {
    const Tensor x = require(in, 0, where, "data");
    std::vector<int64_t> want = int_values(require(in, 1, where, "shape"), where);
    int64_t known = 1, infer = -1;
    for (size_t i = 0; i < want.size(); ++i) {
      if (want[i] == 0 && i < x.shape().size()) want[i] = x.shape()[i];
      if (want[i] == -1)
        infer = static_cast<int64_t>(i);
      else
        known *= want[i];
    }
    if (infer >= 0 && known > 0) want[infer] = x.numel() / known;
    if (numel(want) != x.numel()) throw_input_error(where, ": Reshape of a constant to a wrong size");
    return x.clone().reshape(want);
  }
  if (t == "Add" || t == "Sub" || t == "Mul" || t == "Div")
    return elementwise(t, require(in, 0, where, "A"), require(in, 1, where, "B"), where);
  throw_input_error(where, ": op ", t, " does not fold");
}

}  // namespace qf
