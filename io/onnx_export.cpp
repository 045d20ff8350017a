// ONNX export (contract in io/onnx_export.h).
#include "io/onnx_export.h"

#include <onnx/onnx_pb.h>

#include <set>

#include "io/onnx_file.h"
#include "nn/op_registry.h"
#include "nn/param_store.h"

namespace qf {
namespace {

constexpr int kOpset = 13;
constexpr int kIrVersion = 7;  // the IR version of opset 13

void attr_ints(onnx::NodeProto& n, const std::string& name, const std::vector<int64_t>& v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void attr_int(onnx::NodeProto& n, const std::string& name, int64_t v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}
void attr_float(onnx::NodeProto& n, const std::string& name, double v) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(static_cast<float>(v));
}

int onnx_elem_type(DType t) {
  switch (t) {
    case DType::f32:
      return onnx::TensorProto::FLOAT;
    case DType::f64:
      return onnx::TensorProto::DOUBLE;
    case DType::i8:
      return onnx::TensorProto::INT8;
    case DType::u8:
      return onnx::TensorProto::UINT8;
    case DType::i16:
      return onnx::TensorProto::INT16;
    case DType::i32:
      return onnx::TensorProto::INT32;
    case DType::i64:
      return onnx::TensorProto::INT64;
  }
  return onnx::TensorProto::UNDEFINED;
}

void value_info(onnx::ValueInfoProto& vi, const std::string& name, DType t, const Shape& s) {
  vi.set_name(name);
  auto* tt = vi.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx_elem_type(t));
  auto* shape = tt->mutable_shape();
  for (int64_t d : s) {
    auto* dim = shape->add_dim();
    if (d < 0)
      dim->set_dim_param("N");
    else
      dim->set_dim_value(d);
  }
}

class Exporter {
 public:
  Exporter(const Graph& g, onnx::GraphProto& out, const std::string& input_name)
      : g_(g), out_(out), input_name_(input_name) {
    QF_CHECK(input_name.empty() || g.inputs().size() == 1, "ONNX export: renaming the input of a ",
             "graph with ", g.inputs().size(), " inputs");
  }

  void run() {
    std::set<int> used;
    for (const Node& n : g_.nodes())
      for (int v : n.inputs)
        if (v >= 0) used.insert(v);
    for (int v = 0; v < g_.num_values(); ++v) {
      const Value& val = g_.value(v);
      if (!used.count(v) &&
          std::find(g_.outputs().begin(), g_.outputs().end(), v) == g_.outputs().end())
        continue;
      if (val.kind == ValueKind::input) value_info(*out_.add_input(), name(v), val.dtype, val.shape);
      if (val.kind == ValueKind::param || val.kind == ValueKind::buffer)
        throw_input_error("ONNX export: value '", val.name, "' is a ", value_kind_name(val.kind),
                          "; export graphs from inference_graph() or convert()");
      if (val.kind == ValueKind::constant) {
        Tensor t = Tensor::empty(val.shape, val.dtype);
        initialize(t, val.init, val.name, 0);
        tensor_to_onnx(t, val.name, *out_.add_initializer());
      }
    }
    for (const Node& n : g_.nodes()) node(n);
    // Outputs: their inferred shape with the batch dimension symbolic ("N").
    const std::vector<TensorDesc> d = infer_graph(g_, 1);
    for (int o : g_.outputs()) {
      Shape s = d[o].shape;
      if (!s.empty()) s[0] = -1;
      value_info(*out_.add_output(), name(o), d[o].dtype, s);
    }
  }

 private:
  Shape weight_shape(int v) const {
    const Value& val = g_.value(v);
    if (val.kind == ValueKind::constant) return val.shape;
    for (const Node& n : g_.nodes())  // through a DequantizeLinear
      if (n.outputs[0] == v && n.op == "dequantize_linear") return weight_shape(n.inputs[0]);
    return {};
  }

  std::string name(int v) const {
    if (v < 0) return "";
    const Value& val = g_.value(v);
    return val.kind == ValueKind::input && !input_name_.empty() ? input_name_ : val.name;
  }

  // A node reading a dequantize_linear output whose every consumer is a quantize_linear.
  bool between_qdq(const Node& n) const {
    bool from_dq = false, to_q = true, any = false;
    for (const Node& m : g_.nodes()) {
      if (m.outputs[0] == n.inputs[0]) from_dq = m.op == "dequantize_linear";
      for (int v : m.inputs)
        if (v == n.outputs[0]) {
          any = true;
          to_q = to_q && m.op == "quantize_linear";
        }
    }
    return from_dq && any && to_q;
  }

  onnx::NodeProto& emit(const std::string& op, const Node& n, std::vector<std::string> in,
                        std::vector<std::string> out, const std::string& suffix = "") {
    onnx::NodeProto& p = *out_.add_node();
    p.set_op_type(op);
    p.set_name(n.name + suffix);
    for (auto& s : in) p.add_input(s);
    for (auto& s : out) p.add_output(s);
    return p;
  }

  std::string add_scalar(const std::string& base, float v) {
    const std::string nm = base;
    tensor_to_onnx(Tensor::from({}, {v}), nm, *out_.add_initializer());
    return nm;
  }
  // A 1-D int64 initializer (shapes, slice bounds).
  std::string add_ints(const std::string& nm, const std::vector<int64_t>& v) {
    Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i64);
    std::copy(v.begin(), v.end(), t.data<int64_t>());
    tensor_to_onnx(t, nm, *out_.add_initializer());
    return nm;
  }

  void node(const Node& n) {
    std::vector<std::string> in, out;
    for (int v : n.inputs) in.push_back(name(v));
    while (!in.empty() && in.back().empty()) in.pop_back();
    for (int v : n.outputs) out.push_back(name(v));
    if (!compute_node(n, in, out) && !data_node(n, in, out))
      throw_input_error("ONNX export: node '", n.name, "' (", n.op,
                        ") has no ONNX form; quant-aware graphs are exported after convert()");
  }

  // The arithmetic ops (convolutions, normalisation, activations, pooling, linear); false for
  // any other op.
  bool compute_node(const Node& n, const std::vector<std::string>& in,
                    const std::vector<std::string>& out) {
    const Attrs& a = n.attrs;
    if (n.op == "conv2d") {
      auto& p = emit("Conv", n, in, out);
      const Shape w = weight_shape(n.inputs[1]);
      if (w.size() == 4) attr_ints(p, "kernel_shape", {w[2], w[3]});
      attr_ints(p, "strides", a.get_ints("strides", {1, 1}));
      attr_ints(p, "pads", a.get_ints("pads", {0, 0, 0, 0}));
      attr_ints(p, "dilations", a.get_ints("dilations", {1, 1}));
      attr_int(p, "group", a.get_int("group", 1));
    } else if (n.op == "batch_norm") {
      auto& p = emit("BatchNormalization", n, in, out);
      attr_float(p, "epsilon", a.get_float("epsilon", 1e-5));
      attr_float(p, "momentum", 1.0 - a.get_float("momentum", 0.1));  // ONNX weighs the old value
    } else if (n.op == "relu") {
      if (between_qdq(n))
        attr_float(emit("LeakyRelu", n, in, out), "alpha", 0.0);
      else
        emit("Relu", n, in, out);
    } else if (n.op == "relu6") {
      emit("Clip", n, {in[0], add_scalar(n.name + ".min", 0.f), add_scalar(n.name + ".max", 6.f)},
           out);
    } else if (n.op == "sigmoid") {
      emit("Sigmoid", n, in, out);
    } else if (n.op == "hardsigmoid" || n.op == "hardswish") {
      const std::string hs = n.op == "hardsigmoid" ? out[0] : out[0] + ".hardsigmoid";
      auto& p = emit("HardSigmoid", n, {in[0]}, {hs}, n.op == "hardswish" ? ".hardsigmoid" : "");
      attr_float(p, "alpha", a.get_float("alpha", 1.0 / 6.0));
      attr_float(p, "beta", a.get_float("beta", 0.5));
      if (n.op == "hardswish") emit("Mul", n, {in[0], hs}, out);
    } else if (n.op == "add" || n.op == "mul") {
      emit(n.op == "add" ? "Add" : "Mul", n, in, out);
    } else if (n.op == "max_pool2d" || n.op == "avg_pool2d") {
      auto& p = emit(n.op == "max_pool2d" ? "MaxPool" : "AveragePool", n, in, out);
      const auto k = a.get_ints("kernel_shape");
      attr_ints(p, "kernel_shape", k);
      attr_ints(p, "strides", a.get_ints("strides", k));
      attr_ints(p, "pads", a.get_ints("pads", {0, 0, 0, 0}));
      attr_int(p, "ceil_mode", a.get_int("ceil_mode", 0));
      if (n.op == "avg_pool2d") attr_int(p, "count_include_pad", a.get_int("count_include_pad", 0));
    } else if (n.op == "global_avg_pool") {
      emit("GlobalAveragePool", n, in, out);
    } else if (n.op == "flatten") {
      attr_int(emit("Flatten", n, in, out), "axis", a.get_int("axis", 1));
    } else if (n.op == "linear") {
      attr_int(emit("Gemm", n, in, out), "transB", 1);
    } else if (n.op == "dropout") {
      emit("Identity", n, {in[0]}, out);
    } else {
      return false;
    }
    return true;
  }

  // The ops that move, clip, convert or (de)quantize values; false for any other op.
  bool data_node(const Node& n, const std::vector<std::string>& in,
                 const std::vector<std::string>& out) {
    const Attrs& a = n.attrs;
    if (n.op == "clip") {
      emit("Clip", n, {in[0], add_scalar(n.name + ".min", static_cast<float>(a.get_float("min"))),
                       add_scalar(n.name + ".max", static_cast<float>(a.get_float("max")))},
           out);
    } else if (n.op == "reshape") {
      emit("Reshape", n, {in[0], add_ints(n.name + ".shape", a.get_ints("shape"))}, out);
    } else if (n.op == "transpose") {
      auto& p = emit("Transpose", n, in, out);
      if (a.has("perm")) attr_ints(p, "perm", a.get_ints("perm"));
    } else if (n.op == "slice") {
      const auto& starts = a.get_ints("starts");
      std::vector<int64_t> axes(starts.size()), steps(starts.size(), 1);
      for (size_t i = 0; i < axes.size(); ++i) axes[i] = static_cast<int64_t>(i);
      emit("Slice", n,
           {in[0], add_ints(n.name + ".starts", starts), add_ints(n.name + ".ends", a.get_ints("ends")),
            add_ints(n.name + ".axes", a.get_ints("axes", axes)),
            add_ints(n.name + ".steps", a.get_ints("steps", steps))},
           out);
    } else if (n.op == "concat") {
      attr_int(emit("Concat", n, in, out), "axis", a.get_int("axis"));
    } else if (n.op == "cast") {
      attr_int(emit("Cast", n, in, out), "to", onnx_elem_type(parse_dtype(a.get_string("to"))));
    } else if (n.op == "quantize_linear" || n.op == "dequantize_linear") {
      auto& p = emit(n.op == "quantize_linear" ? "QuantizeLinear" : "DequantizeLinear", n, in, out);
      if (n.inputs.size() > 1 && !g_.value(n.inputs[1]).shape.empty() &&
          numel(g_.value(n.inputs[1]).shape) > 1)
        attr_int(p, "axis", a.get_int("axis", 1));
    } else {
      return false;
    }
    return true;
  }

  const Graph& g_;
  onnx::GraphProto& out_;
  std::string input_name_;  // the graph input's name in the file (empty: its graph name)
};

}  // namespace

void build_onnx_model(const Graph& g, onnx::ModelProto& model, const OnnxExportOptions& o) {
  model.Clear();
  model.set_ir_version(kIrVersion);
  model.set_producer_name("qforge");
  model.set_producer_version("0.1");
  model.set_doc_string(o.doc);
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOpset);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name(o.graph_name);
  Exporter(g, *graph, o.input_name).run();
  const std::string err = check_onnx_model(model);
  QF_CHECK(err.empty(), "exported ONNX model fails libonnx's checker: ", err);
}

void export_onnx(const Graph& g, const std::string& path, const OnnxExportOptions& o) {
  onnx::ModelProto model;
  build_onnx_model(g, model, o);
  write_onnx_model(path, model);
}

}  // namespace qf
