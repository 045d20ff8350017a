// ONNX import: graph building and the per-op mapping (contract in io/onnx_import.h).
#include "io/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "io/onnx_file.h"
#include "io/onnx_fold.h"
#include "nn/layout.h"
#include "nn/op_registry.h"

namespace qf {
namespace {

constexpr int64_t kMinOpset = 11, kMaxOpset = 21;
// Bounds on what a file may say, far above any real model, so that no arithmetic on them
// overflows: kernel sizes, strides, dilations and pads; and elements per sample of the input and of
// every activation (2^31 - 1: 8 GiB of float32 for one image).
constexpr int64_t kMaxWindowAttr = 1 << 16;
constexpr int64_t kMaxSampleElements = (int64_t{1} << 31) - 1;
// A fixed batch dimension in the file only guides import (see the batch rule of reshape()).
constexpr int64_t kMaxFileBatch = 1 << 16;

const onnx::AttributeProto* find_attr(const onnx::NodeProto& n, const std::string& name) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
int64_t attr_int(const onnx::NodeProto& n, const std::string& name, int64_t dflt) {
  const auto* a = find_attr(n, name);
  return a ? a->i() : dflt;
}
double attr_float(const onnx::NodeProto& n, const std::string& name, double dflt) {
  const auto* a = find_attr(n, name);
  return a ? a->f() : dflt;
}
std::string attr_string(const onnx::NodeProto& n, const std::string& name, const std::string& d) {
  const auto* a = find_attr(n, name);
  return a ? a->s() : d;
}
std::vector<int64_t> attr_ints(const onnx::NodeProto& n, const std::string& name,
                               std::vector<int64_t> dflt) {
  const auto* a = find_attr(n, name);
  if (!a) return dflt;
  return {a->ints().begin(), a->ints().end()};
}

// A (N, C, H, W) row-major host tensor stored channels-last, any element size.
Tensor to_channels_last(const Tensor& t) {
  const Shape& s = t.shape();
  Tensor r = Tensor::empty(s, t.dtype());
  const size_t e = dtype_size(t.dtype());
  const char* a = static_cast<const char*>(t.raw());
  char* b = static_cast<char*>(r.raw());
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t h = 0; h < s[2]; ++h)
        for (int64_t w = 0; w < s[3]; ++w)
          std::memcpy(b + nhwc_offset(n, c, h, w, s[1], s[2], s[3]) * e,
                      a + (((n * s[1] + c) * s[2] + h) * s[3] + w) * e, e);
  return r;
}

Tensor transpose_2d(const Tensor& t) {
  const int64_t R = t.dim(0), C = t.dim(1);
  Tensor r = Tensor::empty({C, R}, t.dtype());
  const size_t e = dtype_size(t.dtype());
  for (int64_t i = 0; i < R; ++i)
    for (int64_t j = 0; j < C; ++j)
      std::memcpy(static_cast<char*>(r.raw()) + (j * R + i) * e,
                  static_cast<const char*>(t.raw()) + (i * C + j) * e, e);
  return r;
}

Tensor scaled(const Tensor& t, double f) {
  Tensor r = t.clone();
  if (f != 1.0)
    for (int64_t i = 0; i < r.numel(); ++i) r.data<float>()[i] *= static_cast<float>(f);
  return r;
}

double scalar_of(const Tensor& t, const std::string& where) {
  if (t.numel() != 1) throw_input_error(where, ": expected a scalar, got shape ", shape_str(t.shape()));
  switch (t.dtype()) {
    case DType::f32: return t.data<float>()[0];
    case DType::f64: return t.data<double>()[0];
    default: throw_input_error(where, ": expected a float scalar");
  }
}

// InputError unless every value of the float tensor `t` is finite (NaN or inf weights would only
// ever produce NaN or inf logits, reported as a figure).
void check_finite(const Tensor& t, const std::string& where, const std::string& what) {
  const int64_t i = first_nonfinite(t);
  if (i < 0) return;
  const double v = t.dtype() == DType::f64 ? t.data<double>()[i] : t.data<float>()[i];
  throw_input_error(where, ": ", what, " holds ", v, " at element ", i, " (allowed: finite values)");
}

// InputError unless `v` has `count` values (any count when count < 0), each in [lo, hi].
void check_window_attr(const std::string& where, const char* name, const std::vector<int64_t>& v,
                       int count, int64_t lo) {
  if (count >= 0 && static_cast<int>(v.size()) != count)
    throw_input_error(where, ": ", name, " needs ", count, " values, has ", v.size());
  for (int64_t x : v)
    if (x < lo || x > kMaxWindowAttr)
      throw_input_error(where, ": ", name, " value ", x, " is out of range (allowed: ", lo, " to ",
                        kMaxWindowAttr, ")");
}

// Pads of auto_pad SAME_UPPER / SAME_LOWER for one spatial axis (strides already checked >= 1).
void same_pads(const std::string& ap, int64_t in, int64_t extent, int64_t stride, int64_t& begin,
               int64_t& end) {
  const int64_t out = (in + stride - 1) / stride;
  const int64_t total = std::max<int64_t>(0, (out - 1) * stride + extent - in);
  const int64_t small = total / 2, big = total - small;
  begin = ap == "SAME_UPPER" ? small : big;
  end = ap == "SAME_UPPER" ? big : small;
}

// A dotted torch state-dict name ("features.0.weight"), not an exporter-made one ("onnx::Conv_7").
bool is_state_dict_name(const std::string& s) {
  return s.find('.') != std::string::npos && s.find(':') == std::string::npos &&
         s.find('/') == std::string::npos;
}

class Importer {
 public:
  Importer(const onnx::ModelProto& m, const std::string& what, const OnnxImportOptions& o)
      : m_(m), what_(what), opt_(o) {}

  Graph run(OnnxImportInfo* info) {
    check_opset();
    const onnx::GraphProto& gp = m_.graph();
    for (const auto& t : gp.initializer()) inits_[t.name()] = &t;
    for (const auto& n : gp.node())
      for (const auto& i : n.input()) consumed_.insert(i);
    for (const auto& o : gp.output()) consumed_.insert(o.name());
    add_input();
    for (const auto& n : gp.node()) map_node(n);
    for (const auto& o : gp.output()) {
      auto it = ids_.find(o.name());
      if (it == ids_.end() || g_.value(it->second).kind != ValueKind::activation)
        throw_input_error(what_, ": graph output '", o.name(), "' is not computed from the input");
      g_.mark_output(it->second);
      if (info) info->output_onnx_names.push_back(o.name());
    }
    if (g_.outputs().empty()) throw_input_error(what_, ": the model has no outputs");
    g_.remove_unused_values();
    g_.validate();
    if (info) {
      info->opset = opset_;
      info->producer = m_.producer_name() + " " + m_.producer_version();
      info->input_onnx_name = input_onnx_name_;
      info->quantized = quantized_;
      info->folded_nodes = folded_;
    }
    return std::move(g_);
  }

 private:
  void check_opset() {
    opset_ = -1;
    for (const auto& os : m_.opset_import())
      if (os.domain().empty() || os.domain() == "ai.onnx") opset_ = os.version();
    if (opset_ < 0) throw_input_error(what_, ": the model imports no default-domain (ai.onnx) opset");
    if (opset_ < kMinOpset || opset_ > kMaxOpset)
      throw_input_error(what_, ": opset ", opset_, " is not supported (allowed: ", kMinOpset, " to ",
                        kMaxOpset, ")");
  }

  void add_input() {
    const onnx::GraphProto& gp = m_.graph();
    std::vector<const onnx::ValueInfoProto*> ins;
    for (const auto& i : gp.input())
      if (!is_const(i.name())) ins.push_back(&i);
    if (ins.size() != 1)
      throw_input_error(what_, ": expected one input tensor (the images), found ", ins.size());
    const onnx::ValueInfoProto& in = *ins[0];
    input_onnx_name_ = in.name();
    const auto& tt = in.type().tensor_type();
    if (tt.elem_type() != onnx::TensorProto::FLOAT)
      throw_input_error(what_, ": input '", in.name(), "' must be float32");
    Shape s;
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const auto& d = tt.shape().dim(i);
      if (i == 0) {
        batch_ = d.has_dim_value() && d.dim_value() > 0 ? d.dim_value() : 1;
        if (batch_ > kMaxFileBatch)
          throw_input_error(what_, ": input '", in.name(), "' has a batch dimension of ", batch_,
                            " (allowed: at most ", kMaxFileBatch, ", or a symbolic dimension)");
        s.push_back(-1);
        continue;
      }
      if (!d.has_dim_value() || d.dim_value() <= 0)
        throw_input_error(what_, ": input '", in.name(), "' dimension ", i,
                          " must be a fixed number (only the batch dimension may vary)");
      s.push_back(d.dim_value());
    }
    if (s.size() != 4 && s.size() != 2)
      throw_input_error(what_, ": input '", in.name(), "' must have rank 4 (N, C, H, W) or 2, has ",
                        s.size());
    numel_within(Shape(s.begin() + 1, s.end()), kMaxSampleElements,
                 str_cat(what_, ": input '", in.name(), "' per sample"));
    Value v;
    v.name = opt_.input_name;
    v.kind = ValueKind::input;
    v.shape = s;
    const int id = g_.add_value(std::move(v));
    ids_[in.name()] = id;
    Shape sb = s;
    sb[0] = batch_;
    set_desc(id, {sb, DType::f32});
  }

  // --- values ---------------------------------------------------------------------------------
  void set_desc(int id, TensorDesc d) {
    if (static_cast<int>(desc_.size()) <= id) desc_.resize(id + 1);
    desc_[id] = std::move(d);
  }
  bool is_const(const std::string& name) const {
    return !name.empty() && (consts_.count(name) || inits_.count(name));
  }
  // Initializers are converted on first use, so an unusual one nobody reads costs nothing.
  const Tensor& const_of(const std::string& name) {
    auto it = consts_.find(name);
    if (it != consts_.end()) return it->second;
    const auto init = inits_.find(name);
    if (init == inits_.end())
      throw_input_error(what_, ": '", name, "' must be a constant (an initializer or a value "
                        "computed from constants only)");
    return consts_[name] = tensor_from_onnx(*init->second, what_);
  }

  std::string where(const onnx::NodeProto& n) const {
    return str_cat(what_, ": node '", n.name(), "' (op ", n.op_type(), ")");
  }

  // The graph value of ONNX value `name` used as an activation (never a constant).
  int act(const onnx::NodeProto& n, int i) {
    const std::string& name = n.input(i);
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    if (is_const(name)) return constant(n, i, false);
    if (padded_.count(name))
      throw_input_error(where(n), ": reads the output of a Pad; a Pad is supported only before a "
                        "Conv or an AveragePool, which absorb it");
    throw_input_error(where(n), ": input '", name, "' is not produced by any earlier node");
  }
  bool has_input(const onnx::NodeProto& n, int i) const {
    return i < n.input_size() && !n.input(i).empty();
  }

  // An initializer or folded value as a graph value of `kind`.
  int materialize(const std::string& key, const std::string& name, ValueKind kind, Tensor data) {
    auto it = materialized_.find(key);
    if (it != materialized_.end()) return it->second;
    Value v;
    v.name = g_.unique_value_name(name);
    v.kind = kind;
    v.shape = data.shape();
    v.dtype = data.dtype();
    v.init = Init::from(data);
    const int id = g_.add_value(std::move(v));
    set_desc(id, {data.shape(), data.dtype()});
    materialized_[key] = id;
    return id;
  }
  // Input i of n as a constant (rank-4 data converted to channels-last when `channels_last`).
  int constant(const onnx::NodeProto& n, int i, bool channels_last) {
    const std::string& name = n.input(i);
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
    Tensor t = const_of(name);
    const bool cl = channels_last && t.rank() == 4;
    return materialize(name + (cl ? "#nhwc" : ""), name, ValueKind::constant,
                       cl ? to_channels_last(t) : t);
  }
  // The constant input i of n, which the import computes with as float32 (scaling, broadcasting)
  // before it becomes a parameter: any other type is an InputError naming it.
  const Tensor& float_const(const onnx::NodeProto& n, int i, const char* what) {
    const Tensor& t = const_of(n.input(i));
    if (t.dtype() != DType::f32)
      throw_input_error(where(n), ": ", what, " '", n.input(i), "' must be float32, is ",
                        dtype_name(t.dtype()));
    return t;
  }
  // Input i of n as a parameter or buffer named `<scope>.<suffix>` (or its state-dict name).
  int state(const onnx::NodeProto& n, int i, ValueKind kind, const std::string& suffix,
            Tensor data, const std::string& variant = "") {
    const std::string& init = n.input(i);
    if (data.dtype() != DType::f32)
      throw_input_error(where(n), ": ", suffix, " '", init, "' must be float32, is ",
                        dtype_name(data.dtype()));
    check_finite(data, where(n), str_cat(suffix, " '", init, "'"));
    const std::string name =
        variant.empty() && is_state_dict_name(init) ? init : scope_of(n) + "." + suffix;
    return materialize(init + "#" + suffix + variant, name, kind, std::move(data));
  }

  // --- nodes ----------------------------------------------------------------------------------
  std::string scope_of(const onnx::NodeProto& n) const {
    std::string op = n.op_type();
    for (char& c : op) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string& name = n.name();
    if (name.empty()) return op;
    if (name[0] != '/') return name;
    const std::string path = torch_module_path(name);
    return path.empty() ? op : path;
  }
  // torch.onnx names a node "/<segment>/.../<op>", one segment per enclosing module, each the
  // module's name as its parent prints it: a container's child repeats the container's name
  // ("/features/features.1/conv/conv.0/conv.0.0/Conv"). The module path (the state-dict prefix,
  // "features.1.conv.0.0") joins the segments, taking from a segment that extends the previous one
  // only its new tail.
  static std::string torch_module_path(const std::string& name) {
    std::string path, prev;
    for (size_t b = 1, e; (e = name.find('/', b)) != std::string::npos; b = e + 1) {
      const std::string seg = name.substr(b, e - b);
      if (seg.empty()) continue;
      if (!prev.empty() && seg.size() > prev.size() && seg.compare(0, prev.size() + 1, prev + ".") == 0)
        path += seg.substr(prev.size());
      else
        path += (path.empty() ? "" : ".") + seg;
      prev = seg;
    }
    return path;
  }
  std::string node_name(const onnx::NodeProto& n, const std::string& op, bool primary) {
    std::string base = scope_of(n);
    if (!primary || used_names_.count(base)) base += "." + op;
    std::string name = base;
    for (int k = 1; used_names_.count(name); ++k) name = base + "_" + std::to_string(k);
    used_names_.insert(name);
    return name;
  }

  // An activation keeps the batch dimension, has no empty dimension and a bounded size.
  void check_activation(const onnx::NodeProto& n, const Shape& s) const {
    if (s.empty()) throw_input_error(where(n), ": the output is a scalar (activations keep the batch)");
    for (int64_t d : s)
      if (d < 1) throw_input_error(where(n), ": the output has shape ", shape_str(s), " (empty)");
    numel_within(Shape(s.begin() + 1, s.end()), kMaxSampleElements, where(n) + ": output per sample");
  }

  // Adds a node computing ONNX output 0 of n; returns the output's value id.
  int emit(const onnx::NodeProto& n, const std::string& op, std::vector<int> inputs, Attrs attrs,
           bool primary = true) {
    for (int k = 1; k < n.output_size(); ++k)
      if (!n.output(k).empty() && consumed_.count(n.output(k)))
        throw_input_error(where(n), ": output ", k, " ('", n.output(k),
                          "') is used, qforge supports only the first output of this op");
    Node node;
    node.op = op;
    node.name = node_name(n, op, primary);
    node.inputs = std::move(inputs);
    node.attrs = std::move(attrs);
    Value v;
    v.name = g_.unique_value_name(n.output(0));
    const int y = g_.add_value(std::move(v));
    node.outputs = {y};
    std::vector<TensorDesc> in;
    for (int v : node.inputs) in.push_back(v >= 0 ? desc_[v] : TensorDesc{});
    std::vector<TensorDesc> out;
    try {
      out = infer_node(node, in);
    } catch (const InputError& e) {
      throw_input_error(where(n), ": ", e.what());
    }
    check_activation(n, out[0].shape);
    set_desc(y, out[0]);
    g_.add_node(std::move(node));
    ids_[n.output(0)] = y;
    return y;
  }

  // ONNX's input counts of the ops import maps (Constant takes none; outputs: at least one).
  void check_arity(const onnx::NodeProto& n) const {
    static const std::map<std::string, std::pair<int, int>> arity = {
        {"Conv", {2, 3}},        {"BatchNormalization", {5, 5}}, {"Clip", {1, 3}},
        {"Add", {2, 2}},         {"Mul", {2, 2}},                {"Sub", {2, 2}},
        {"Div", {2, 2}},         {"Reshape", {2, 2}},            {"Squeeze", {1, 2}},
        {"Unsqueeze", {1, 2}},   {"Gemm", {2, 3}},               {"MatMul", {2, 2}},
        {"Dropout", {1, 3}},     {"Concat", {1, 1 << 16}},       {"QuantizeLinear", {2, 3}},
        {"DequantizeLinear", {2, 3}}, {"Constant", {0, 0}},      {"Shape", {1, 1}},
        {"Gather", {2, 2}},      {"Cast", {1, 1}},               {"Slice", {1, 5}},
        {"Relu", {1, 1}},        {"LeakyRelu", {1, 1}},          {"Sigmoid", {1, 1}},
        {"HardSwish", {1, 1}},   {"HardSigmoid", {1, 1}},        {"GlobalAveragePool", {1, 1}},
        {"AveragePool", {1, 1}}, {"MaxPool", {1, 1}},            {"Flatten", {1, 1}},
        {"Identity", {1, 1}},    {"Transpose", {1, 1}},          {"ReduceMean", {1, 2}},
        {"Pad", {1, 4}}};
    const auto it = arity.find(n.op_type());
    if (it == arity.end()) return;  // not an op import knows: map_node says so
    const auto [lo, hi] = it->second;
    if (n.input_size() < lo || n.input_size() > hi)
      throw_input_error(where(n), ": has ", n.input_size(), " inputs (allowed: ", lo,
                        lo == hi ? "" : str_cat(" to ", hi), ")");
  }

  void map_node(const onnx::NodeProto& n) {
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      throw_input_error(where(n), " of domain '", n.domain(), "' is not supported (supported: the "
                        "default domain's ", join_supported(), ")");
    const std::string& t = n.op_type();
    if (n.output_size() < 1 || n.output(0).empty()) throw_input_error(where(n), ": has no output");
    check_arity(n);
    if (try_fold(n)) return;
    if (t == "Conv") return conv(n);
    if (t == "BatchNormalization") return batch_norm(n);
    if (t == "Relu") return void(emit(n, "relu", {act(n, 0)}, {}));
    if (t == "LeakyRelu") {  // qforge's int8 export writes a relu between Q/DQ as LeakyRelu(0)
      if (attr_float(n, "alpha", 0.01) != 0.0)
        throw_input_error(where(n), ": only alpha 0 (a relu) is supported, got ",
                          attr_float(n, "alpha", 0.01));
      return void(emit(n, "relu", {act(n, 0)}, {}));
    }
    if (t == "Sigmoid") return void(emit(n, "sigmoid", {act(n, 0)}, {}));
    if (t == "HardSwish") return void(emit(n, "hardswish", {act(n, 0)}, {}));
    if (t == "HardSigmoid") {
      const double alpha = attr_float(n, "alpha", 0.2), beta = attr_float(n, "beta", 0.5);
      if (!std::isfinite(alpha) || !std::isfinite(beta))
        throw_input_error(where(n), ": alpha ", alpha, " and beta ", beta, " must be finite");
      return void(emit(n, "hardsigmoid", {act(n, 0)}, {{"alpha", alpha}, {"beta", beta}}));
    }
    if (t == "Clip") return clip(n);
    if (t == "Add" || t == "Mul") return elementwise(n, t == "Add" ? "add" : "mul");
    if (t == "GlobalAveragePool") return void(emit(n, "global_avg_pool", {act(n, 0)}, {}));
    if (t == "AveragePool" || t == "MaxPool") return pool(n, t == "AveragePool");
    if (t == "Flatten") return void(emit(n, "flatten", {act(n, 0)}, {{"axis", attr_int(n, "axis", 1)}}));
    if (t == "Reshape" || t == "Squeeze" || t == "Unsqueeze") return reshape(n);
    if (t == "Gemm") return gemm(n);
    if (t == "MatMul") return matmul(n);
    if (t == "Identity") return void(ids_[n.output(0)] = act(n, 0));
    if (t == "Dropout") return dropout(n);
    if (t == "Concat") return concat(n);
    if (t == "Transpose") return transpose(n);
    if (t == "Slice") return slice(n);
    if (t == "ReduceMean") return reduce_mean(n);
    if (t == "Pad") return pad(n);
    if (t == "QuantizeLinear" || t == "DequantizeLinear") return qdq(n, t == "QuantizeLinear");
    throw_input_error(where(n), " is not supported (supported: ", join_supported(), ")");
  }

  static std::string join_supported() {
    std::string s;
    for (const auto& o : onnx_import_supported_ops()) s += (s.empty() ? "" : ", ") + o;
    return s + "; and, on constant inputs only: Shape, Gather, Cast, Slice, Sub, Div";
  }

  bool try_fold(const onnx::NodeProto& n) {
    if (!is_foldable_onnx_op(n.op_type())) return false;
    std::vector<Tensor> in;
    const Shape* shape0 = nullptr;
    for (int i = 0; i < n.input_size(); ++i) {
      const std::string& name = n.input(i);
      if (name.empty()) {
        in.emplace_back();
      } else if (is_const(name)) {
        in.push_back(const_of(name));
      } else if (n.op_type() == "Shape" && i == 0 && ids_.count(name)) {
        shape0 = &desc_[ids_.at(name)].shape;
        in.emplace_back();
      } else {
        return false;
      }
    }
    consts_[n.output(0)] = fold_onnx_node(n, in, shape0, opset_, where(n));
    ++folded_;
    return true;
  }

  // --- op mappers -----------------------------------------------------------------------------
  void conv(const onnx::NodeProto& n) {
    std::vector<int64_t> extra;
    const int x = padded_input(n, extra);
    const bool w_const = is_const(n.input(1));
    const int w = w_const ? state(n, 1, ValueKind::param, "weight", const_of(n.input(1))) : act(n, 1);
    if (desc_[w].shape.size() != 4 || desc_[x].shape.size() != 4)
      throw_input_error(where(n), ": only 2-D convolutions (4-D input and weight) are supported");
    int b = -1;
    if (has_input(n, 2))
      b = is_const(n.input(2)) ? state(n, 2, ValueKind::param, "bias", const_of(n.input(2))) : act(n, 2);
    const Shape& xs = desc_[x].shape;
    const Shape& ws = desc_[w].shape;
    const auto strides = attr_ints(n, "strides", {1, 1});
    const auto dil = attr_ints(n, "dilations", {1, 1});
    std::vector<int64_t> pads = attr_ints(n, "pads", {0, 0, 0, 0});
    const std::string ap = attr_string(n, "auto_pad", "NOTSET");
    check_window_attr(where(n), "strides", strides, 2, 1);
    check_window_attr(where(n), "dilations", dil, 2, 1);
    check_window_attr(where(n), "pads", pads, 4, 0);
    check_window_attr(where(n), "kernel size (weight dimensions 2, 3)", {ws[2], ws[3]}, 2, 1);
    const int64_t group = attr_int(n, "group", 1);
    if (group < 1 || group > ws[0] || (ws[0] > 0 && ws[0] % group != 0))
      throw_input_error(where(n), ": group ", group, " does not divide the ", ws[0],
                        " output channels");
    if (ap == "VALID") {
      pads = {0, 0, 0, 0};
    } else if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
      for (int d = 0; d < 2; ++d)
        same_pads(ap, xs[2 + d], (ws[2 + d] - 1) * dil[d] + 1, strides[d], pads[d], pads[d + 2]);
    } else if (ap != "NOTSET") {
      throw_input_error(where(n), ": auto_pad '", ap, "' is not supported");
    }
    add_pads(n, pads, extra, ap);
    std::vector<int> in{x, w};
    if (b >= 0) in.push_back(b);
    emit(n, "conv2d", in, {{"strides", strides}, {"pads", pads}, {"dilations", dil}, {"group", group}});
  }

  void batch_norm(const onnx::NodeProto& n) {
    if (attr_int(n, "training_mode", 0) != 0)
      throw_input_error(where(n), ": training_mode 1 is not supported (export the model in eval mode)");
    for (int i = 1; i <= 4; ++i)
      if (!is_const(n.input(i)))
        throw_input_error(where(n), ": scale, bias, mean and variance must be initializers");
    const int x = act(n, 0);
    const int gamma = state(n, 1, ValueKind::param, "weight", const_of(n.input(1)));
    const int beta = state(n, 2, ValueKind::param, "bias", const_of(n.input(2)));
    const int mean = state(n, 3, ValueKind::buffer, "running_mean", const_of(n.input(3)));
    const int var = state(n, 4, ValueKind::buffer, "running_var", const_of(n.input(4)));
    const double eps = attr_float(n, "epsilon", 1e-5), momentum = attr_float(n, "momentum", 0.9);
    if (!std::isfinite(eps) || eps < 0 || !std::isfinite(momentum))
      throw_input_error(where(n), ": epsilon ", eps, " and momentum ", momentum,
                        " (allowed: finite, epsilon >= 0)");
    const Tensor& v = const_of(n.input(4));
    for (int64_t i = 0; i < v.numel(); ++i)
      if (!(v.data<float>()[i] + eps > 0))
        throw_input_error(where(n), ": running variance '", n.input(4), "' holds ", v.data<float>()[i],
                          " at element ", i, " (allowed: variance + epsilon > 0)");
    emit(n, "batch_norm", {x, gamma, beta, mean, var}, {{"epsilon", eps}, {"momentum", 1.0 - momentum}});
  }

  void clip(const onnx::NodeProto& n) {
    double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
    for (int i = 1; i <= 2; ++i) {
      if (!has_input(n, i)) continue;
      if (!is_const(n.input(i))) throw_input_error(where(n), ": min and max must be constants");
      (i == 1 ? lo : hi) = scalar_of(const_of(n.input(i)), where(n));
    }
    if (std::isnan(lo) || std::isnan(hi) || lo > hi)
      throw_input_error(where(n), ": bounds [", lo, ", ", hi, "] (allowed: min <= max, not NaN)");
    const int x = act(n, 0);
    if (lo == 0 && hi == 6) return void(emit(n, "relu6", {x}, {}));
    if (lo == 0 && std::isinf(hi) && hi > 0) return void(emit(n, "relu", {x}, {}));
    emit(n, "clip", {x}, {{"min", lo}, {"max", hi}});
  }

  void elementwise(const onnx::NodeProto& n, const char* op) {
    std::vector<int> in;
    for (int i = 0; i < 2; ++i) {
      if (is_const(n.input(i))) {
        const Tensor& c = const_of(n.input(i));
        if (c.dtype() != DType::f32)
          throw_input_error(where(n), ": constant operand '", n.input(i), "' must be float32");
        check_finite(c, where(n), "constant operand '" + n.input(i) + "'");
      }
      in.push_back(is_const(n.input(i)) ? constant(n, i, true) : act(n, i));
    }
    emit(n, op, in, {});
  }

  // pads += extra (a Pad absorbed by this node), which needs explicit pads (auto_pad NOTSET).
  void add_pads(const onnx::NodeProto& n, std::vector<int64_t>& pads, const std::vector<int64_t>& extra,
                const std::string& auto_pad) {
    if (std::all_of(extra.begin(), extra.end(), [](int64_t v) { return v == 0; })) return;
    if (auto_pad != "NOTSET") throw_input_error(where(n), ": auto_pad after a Pad is not supported");
    for (int i = 0; i < 4; ++i) pads[i] += extra[i];
  }

  void pool(const onnx::NodeProto& n, bool avg) {
    std::vector<int64_t> extra;
    const int x = padded_input(n, extra);
    const bool padded = std::any_of(extra.begin(), extra.end(), [](int64_t v) { return v != 0; });
    const auto k = attr_ints(n, "kernel_shape", {});
    if (k.size() != 2) throw_input_error(where(n), ": kernel_shape must have 2 values (2-D pooling)");
    const auto strides = attr_ints(n, "strides", {1, 1});
    std::vector<int64_t> pads = attr_ints(n, "pads", {0, 0, 0, 0});
    check_window_attr(where(n), "kernel_shape", k, 2, 1);
    check_window_attr(where(n), "strides", strides, 2, 1);
    check_window_attr(where(n), "pads", pads, 4, 0);
    for (int64_t d : attr_ints(n, "dilations", {1, 1}))
      if (d != 1) throw_input_error(where(n), ": dilations other than 1 are not supported");
    if (attr_int(n, "storage_order", 0) != 0)
      throw_input_error(where(n), ": storage_order 1 is not supported");
    const std::string ap = attr_string(n, "auto_pad", "NOTSET");
    const int64_t ceil_mode = attr_int(n, "ceil_mode", 0);
    const int64_t count_include_pad = attr_int(n, "count_include_pad", 0);
    if ((ceil_mode != 0 && ceil_mode != 1) || (count_include_pad != 0 && count_include_pad != 1))
      throw_input_error(where(n), ": ceil_mode and count_include_pad must be 0 or 1");
    if (ap == "VALID") {
      pads = {0, 0, 0, 0};
    } else if (ap == "SAME_UPPER" || ap == "SAME_LOWER") {
      const Shape& xs = desc_[x].shape;
      if (xs.size() != 4) throw_input_error(where(n), ": the input must be 4-D (N, C, H, W)");
      for (int d = 0; d < 2; ++d) same_pads(ap, xs[2 + d], k[d], strides[d], pads[d], pads[d + 2]);
    } else if (ap != "NOTSET") {
      throw_input_error(where(n), ": auto_pad '", ap, "' is not supported");
    }
    // Zeros a Pad wrote count in the average: absorbed, they need count_include_pad, which the
    // node's own padding must then have too (or there is none).
    int64_t include_pad = count_include_pad;
    if (padded) {
      const bool own = std::any_of(pads.begin(), pads.end(), [](int64_t v) { return v != 0; });
      if (!avg || (own && include_pad == 0))
        throw_input_error(where(n), ": a Pad before ", avg ? "an AveragePool that excludes its own "
                          "padding" : "a MaxPool", " is not supported");
      include_pad = 1;
      add_pads(n, pads, extra, ap);
    }
    Attrs a{{"kernel_shape", k}, {"strides", strides}, {"pads", pads}, {"ceil_mode", ceil_mode}};
    if (avg) a.set("count_include_pad", include_pad);
    emit(n, avg ? "avg_pool2d" : "max_pool2d", {x}, a);
  }

  // The shape a Squeeze or Unsqueeze of an activation of shape xs gives: axes in range, named
  // once, the batch axis (0) untouched, squeezed axes of size 1.
  Shape squeezed_shape(const onnx::NodeProto& n, const Shape& xs) {
    std::vector<int64_t> axes = opset_ < 13     ? attr_ints(n, "axes", {})
                                : has_input(n, 1) ? int_values(const_of(n.input(1)), where(n))
                                                  : std::vector<int64_t>{};
    const bool unsqueeze = n.op_type() == "Unsqueeze";
    const int64_t r = static_cast<int64_t>(xs.size() + (unsqueeze ? axes.size() : 0));
    if (unsqueeze && (axes.empty() || static_cast<size_t>(r) > kMaxOnnxRank))
      throw_input_error(where(n), ": Unsqueeze needs 1 to ", kMaxOnnxRank - xs.size(), " axes");
    for (int64_t& a : axes) {
      if (a < -r || a >= r)
        throw_input_error(where(n), ": axis ", a, " is out of range for rank ", r, " (allowed: ", -r,
                          " to ", r - 1, ")");
      if (a < 0) a += r;
      if (a == 0) throw_input_error(where(n), ": axis 0 is the batch and must stay");
    }
    std::sort(axes.begin(), axes.end());
    if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
      throw_input_error(where(n), ": an axis is named twice");
    Shape target;
    if (unsqueeze) {
      target = xs;
      for (int64_t a : axes) target.insert(target.begin() + a, 1);
      return target;
    }
    for (int64_t a : axes)
      if (xs[a] != 1)
        throw_input_error(where(n), ": axis ", a, " has size ", xs[a], " (allowed: size 1)");
    for (int64_t i = 0; i < r; ++i) {
      const bool drop = axes.empty() ? xs[i] == 1 && i > 0
                                     : std::binary_search(axes.begin(), axes.end(), i);
      if (!drop) target.push_back(xs[i]);
    }
    return target;
  }

  void reshape(const onnx::NodeProto& n) {
    const int x = act(n, 0);
    const Shape& xs = desc_[x].shape;
    std::vector<int64_t> target;
    const std::string& t = n.op_type();
    if (t == "Reshape") {
      if (!is_const(n.input(1))) throw_input_error(where(n), ": the target shape must be constant");
      target = int_values(const_of(n.input(1)), where(n));
      if (attr_int(n, "allowzero", 0) != 0)
        for (int64_t d : target)
          if (d == 0) throw_input_error(where(n), ": allowzero with a 0 dimension is not supported");
    } else {  // Squeeze / Unsqueeze of an activation: the same data with another shape
      target = squeezed_shape(n, xs);
    }
    // The batch rule: a reshape that keeps each sample's element count keeps the batch.
    if (!target.empty() && !xs.empty() && target[0] != -1 && target[0] != 0) {
      int64_t rest = 1;
      bool inferred = false;
      for (size_t i = 1; i < target.size() && rest >= 0; ++i) {
        if (target[i] == -1) inferred = true;
        else rest = checked_mul(rest, target[i] == 0 && i < xs.size() ? xs[i] : target[i]).value_or(-1);
      }
      const int64_t per_sample = numel(xs) / std::max<int64_t>(xs[0], 1);
      if ((!inferred && rest == per_sample) || (inferred && target[0] == batch_)) target[0] = 0;
    }
    emit(n, "reshape", {x}, {{"shape", target}});
  }

  void gemm(const onnx::NodeProto& n) {
    if (attr_int(n, "transA", 0) != 0) throw_input_error(where(n), ": transA 1 is not supported");
    const bool trans_b = attr_int(n, "transB", 0) != 0;
    const double alpha = attr_float(n, "alpha", 1.0), beta = attr_float(n, "beta", 1.0);
    if (!std::isfinite(alpha) || !std::isfinite(beta))
      throw_input_error(where(n), ": alpha ", alpha, " and beta ", beta, " must be finite");
    const int x = act(n, 0);
    int w;
    if (is_const(n.input(1))) {
      const Tensor& b = float_const(n, 1, "B");
      if (b.rank() != 2) throw_input_error(where(n), ": B must be 2-D");
      const bool plain = trans_b && alpha == 1.0;
      w = state(n, 1, ValueKind::param, "weight", scaled(trans_b ? b : transpose_2d(b), alpha),
                plain ? "" : "#t");
    } else {
      if (!trans_b || alpha != 1.0)
        throw_input_error(where(n), ": a computed B (e.g. dequantized weights) needs transB 1 and "
                          "alpha 1");
      w = act(n, 1);
    }
    if (desc_[w].shape.size() != 2) throw_input_error(where(n), ": B must be 2-D");
    const int64_t out = desc_[w].shape[0];
    std::vector<int> in{x, w};
    if (has_input(n, 2) && beta != 0.0) {
      if (is_const(n.input(2))) {
        Tensor c = float_const(n, 2, "C");
        if (c.numel() == 1) {
          Tensor full = Tensor::empty({out}, DType::f32);
          full.fill(c.data<float>()[0]);
          c = full;
        }
        if (c.numel() != out)
          throw_input_error(where(n), ": C of shape ", shape_str(c.shape()), " is not a bias of ", out,
                            " values (only per-output biases are supported)");
        in.push_back(state(n, 2, ValueKind::param, "bias", scaled(c.reshape({out}), beta),
                           beta == 1.0 && c.rank() == 1 ? "" : "#b"));
      } else {
        if (beta != 1.0) throw_input_error(where(n), ": a computed C needs beta 1");
        in.push_back(act(n, 2));
      }
    }
    emit(n, "linear", in, {});
  }

  void matmul(const onnx::NodeProto& n) {
    if (!is_const(n.input(1)))
      throw_input_error(where(n), ": only a product by a constant (in, out) matrix is supported");
    const Tensor& b = const_of(n.input(1));
    if (b.rank() != 2) throw_input_error(where(n), ": B must be 2-D");
    const int x = act(n, 0);
    if (desc_[x].shape.size() != 2)
      throw_input_error(where(n), ": A must be 2-D (N, in), got ", shape_str(desc_[x].shape));
    const int w = state(n, 1, ValueKind::param, "weight", transpose_2d(b), "#t");
    emit(n, "linear", {x, w}, {});
  }

  void dropout(const onnx::NodeProto& n) {
    double ratio = attr_float(n, "ratio", 0.5);
    if (opset_ >= 12 && has_input(n, 1)) ratio = scalar_of(const_of(n.input(1)), where(n));
    if (!(ratio >= 0 && ratio < 1))
      throw_input_error(where(n), ": ratio ", ratio, " (allowed: 0 <= ratio < 1)");
    if (has_input(n, 2)) {  // training_mode: a BOOL constant that must be false
      auto it = inits_.find(n.input(2));
      const bool is_false = it != inits_.end() && it->second->data_type() == onnx::TensorProto::BOOL &&
                            ((it->second->has_raw_data() && it->second->raw_data() == std::string(1, '\0')) ||
                             (it->second->int32_data_size() == 1 && it->second->int32_data(0) == 0));
      if (!is_false) throw_input_error(where(n), ": training_mode must be a constant false");
    }
    emit(n, "dropout", {act(n, 0)}, {{"ratio", ratio}});
  }

  void concat(const onnx::NodeProto& n) {
    std::vector<int> in;
    for (int i = 0; i < n.input_size(); ++i)
      in.push_back(is_const(n.input(i)) ? constant(n, i, true) : act(n, i));
    emit(n, "concat", in, {{"axis", attr_int(n, "axis", 0)}});
  }

  // Transpose of an activation; the batch axis must stay first.
  void transpose(const onnx::NodeProto& n) {
    const int x = act(n, 0);
    std::vector<int64_t> perm = attr_ints(n, "perm", {});
    if (perm.empty())
      for (size_t i = desc_[x].shape.size(); i-- > 0;) perm.push_back(static_cast<int64_t>(i));
    const size_t r = desc_[x].shape.size();
    std::vector<int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i)
      if (sorted.size() != r || r == 0 || sorted[i] != static_cast<int64_t>(i))
        throw_input_error(where(n), ": perm ", shape_str(perm), " is not a permutation of the ", r,
                          " axes of its input (allowed: each of 0 to ", r, " - 1 once)");
    if (perm.empty() || perm[0] != 0)
      throw_input_error(where(n), ": perm ", shape_str(perm), " moves the batch axis");
    emit(n, "transpose", {x}, {{"perm", perm}});
  }

  // Slice of an activation by constant bounds (torch's chunk and split), never along the batch.
  void slice(const onnx::NodeProto& n) {
    const char* names[] = {"starts", "ends", "axes", "steps"};
    Attrs a;
    for (int i = 1; i <= 4; ++i) {
      if (!has_input(n, i)) continue;
      if (!is_const(n.input(i))) throw_input_error(where(n), ": ", names[i - 1], " must be constant");
      a.set(names[i - 1], int_values(const_of(n.input(i)), where(n)));
    }
    const int x = act(n, 0);
    const int64_t r = static_cast<int64_t>(desc_[x].shape.size());
    std::vector<int64_t> axes = a.get_ints("axes", {});
    if (axes.empty())
      for (size_t i = 0; i < a.get_ints("starts", {}).size(); ++i) axes.push_back(static_cast<int64_t>(i));
    for (int64_t ax : axes)
      if (ax == 0 || ax == -r) throw_input_error(where(n), ": slicing the batch axis is not supported");
    emit(n, "slice", {x}, a);
  }

  // ReduceMean over H and W of a 4-D activation (torch's x.mean([2, 3])) is global average pooling.
  void reduce_mean(const onnx::NodeProto& n) {
    const int x = act(n, 0);
    std::vector<int64_t> axes = attr_ints(n, "axes", {});
    if (opset_ >= 18 && has_input(n, 1)) axes = int_values(const_of(n.input(1)), where(n));
    for (int64_t& a : axes) a = a < 0 ? a + 4 : a;
    std::sort(axes.begin(), axes.end());
    if (desc_[x].shape.size() != 4 || axes != std::vector<int64_t>{2, 3})
      throw_input_error(where(n), ": only the mean over axes 2 and 3 of a 4-D tensor is supported");
    const int y = emit(n, "global_avg_pool", {x}, {});
    if (attr_int(n, "keepdims", 1) == 0) emit(n, "reshape", {y}, {{"shape", std::vector<int64_t>{0, -1}}}, false);
  }

  // Pad (torch's AvgPool2d exports one before its AveragePool): all-zero pads are the input itself;
  // zero padding of H and W is absorbed by the Conv or AveragePool that reads it (padded_input).
  void pad(const onnx::NodeProto& n) {
    const std::string mode = attr_string(n, "mode", "constant");
    if (!has_input(n, 1) || !is_const(n.input(1)))
      throw_input_error(where(n), ": the pads must be a constant");
    const std::vector<int64_t> p = int_values(const_of(n.input(1)), where(n));
    if (std::all_of(p.begin(), p.end(), [](int64_t v) { return v == 0; }))
      return void(ids_[n.output(0)] = act(n, 0));
    const bool zero_value = !has_input(n, 2) || scalar_of(const_of(n.input(2)), where(n)) == 0.0;
    if (mode != "constant" || !zero_value || p.size() != 8 || p[0] || p[1] || p[4] || p[5] ||
        std::any_of(p.begin(), p.end(), [](int64_t v) { return v < 0; }))
      throw_input_error(where(n), ": only padding H and W of a 4-D tensor with zeros is supported");
    padded_[n.output(0)] = {n.input(0), {p[2], p[3], p[6], p[7]}};
  }
  // Input 0 of a Conv or AveragePool, through a Pad if one feeds it; `extra` gets the Pad's
  // (top, left, bottom, right).
  int padded_input(const onnx::NodeProto& n, std::vector<int64_t>& extra) {
    auto it = padded_.find(n.input(0));
    extra = it == padded_.end() ? std::vector<int64_t>{0, 0, 0, 0} : it->second.second;
    if (it == padded_.end()) return act(n, 0);
    auto v = ids_.find(it->second.first);
    if (v == ids_.end()) throw_input_error(where(n), ": the Pad before it pads a constant");
    return v->second;
  }

  void qdq(const onnx::NodeProto& n, bool quantize) {
    quantized_ = true;
    if (attr_int(n, "block_size", 0) != 0)
      throw_input_error(where(n), ": blocked quantization (block_size) is not supported");
    std::vector<int> in;
    if (is_const(n.input(0))) check_finite(const_of(n.input(0)), where(n), "input '" + n.input(0) + "'");
    in.push_back(is_const(n.input(0)) ? constant(n, 0, false) : act(n, 0));
    if (!is_const(n.input(1))) throw_input_error(where(n), ": the scale must be a constant");
    const Tensor& scale = const_of(n.input(1));
    if (scale.dtype() != DType::f32)
      throw_input_error(where(n), ": scale '", n.input(1), "' must be float32, is ",
                        dtype_name(scale.dtype()));
    for (int64_t i = 0; i < scale.numel(); ++i)
      if (!(scale.data<float>()[i] > 0) || !std::isfinite(scale.data<float>()[i]))
        throw_input_error(where(n), ": scale '", n.input(1), "' holds ", scale.data<float>()[i],
                          " at element ", i, " (allowed: finite values > 0)");
    in.push_back(constant(n, 1, false));
    if (has_input(n, 2)) {
      if (!is_const(n.input(2))) throw_input_error(where(n), ": the zero point must be a constant");
      in.push_back(constant(n, 2, false));
    } else if (quantize && find_attr(n, "output_dtype")) {
      const int64_t t = attr_int(n, "output_dtype", onnx::TensorProto::UINT8);
      const DType d = t == onnx::TensorProto::INT8 ? DType::i8
                      : t == onnx::TensorProto::INT16 ? DType::i16
                      : t == onnx::TensorProto::UINT8 ? DType::u8
                      : throw InputError(where(n) + ": output_dtype " + std::to_string(t) +
                                         " is not supported (allowed: INT8, UINT8, INT16)");
      in.push_back(materialize("#zp" + std::to_string(t) + "#" + shape_str(const_of(n.input(1)).shape()),
                               n.output(0) + ".zero_point", ValueKind::constant,
                               Tensor::zeros(const_of(n.input(1)).shape(), d)));
    }
    emit(n, quantize ? "quantize_linear" : "dequantize_linear", in, {{"axis", attr_int(n, "axis", 1)}},
         false);
  }

  const onnx::ModelProto& m_;
  std::string what_;
  OnnxImportOptions opt_;
  Graph g_;
  int64_t opset_ = 0;
  int64_t batch_ = 1;  // the batch size import-time shape inference uses
  std::map<std::string, const onnx::TensorProto*> inits_;  // the file's initializers
  std::map<std::string, Tensor> consts_;   // converted initializers and folded values
  std::map<std::string, int> ids_;         // ONNX value name -> graph value id
  std::map<std::string, int> materialized_;
  std::vector<TensorDesc> desc_;           // by graph value id, at batch batch_
  std::set<std::string> consumed_;         // ONNX names some node or the graph output reads
  std::set<std::string> used_names_;
  // Pad outputs not yet absorbed: ONNX name -> (padded input's ONNX name, top, left, bottom, right)
  std::map<std::string, std::pair<std::string, std::vector<int64_t>>> padded_;
  std::string input_onnx_name_;
  bool quantized_ = false;
  int folded_ = 0;
};

}  // namespace

const std::vector<std::string>& onnx_import_supported_ops() {
  static const std::vector<std::string> ops = {
      "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv",
      "DequantizeLinear", "Dropout", "Flatten", "Gemm", "GlobalAveragePool", "HardSigmoid",
      "HardSwish", "Identity", "LeakyRelu", "MatMul", "MaxPool", "Mul", "Pad", "QuantizeLinear",
      "ReduceMean", "Relu", "Reshape", "Sigmoid", "Slice", "Squeeze", "Transpose", "Unsqueeze"};
  return ops;
}

Graph import_onnx_model(const onnx::ModelProto& model, const std::string& what,
                        const OnnxImportOptions& options, OnnxImportInfo* info) {
  return Importer(model, what, options).run(info);
}

Graph import_onnx(const std::string& path, const OnnxImportOptions& options, OnnxImportInfo* info) {
  onnx::ModelProto m;
  read_onnx_model(path, m);
  return import_onnx_model(m, "ONNX model '" + path + "'", options, info);
}

}  // namespace qf
