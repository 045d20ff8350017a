// Small ONNX models built in C++ for tests (libonnx's protobuf classes): a float input x
// (N, dims...), nodes with integer and string attributes, initializers, outputs. Tests that need a
// hostile model start from a valid one and break one thing.
#pragma once

#include <onnx/onnx_pb.h>

#include <fstream>
#include <string>
#include <vector>

namespace qf::test {

using onnx::TensorProto;

inline onnx::TensorProto float_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                      float value = 0.25f) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(TensorProto::FLOAT);
  int64_t n = 1;
  for (int64_t d : dims) {
    t.add_dims(d);
    n *= d;
  }
  for (int64_t i = 0; i < n; ++i) t.add_float_data(value * static_cast<float>(i % 5 - 2));
  return t;
}

inline onnx::TensorProto int64_tensor(const std::string& name, const std::vector<int64_t>& values,
                                      bool scalar = false) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(TensorProto::INT64);
  if (!scalar) t.add_dims(static_cast<int64_t>(values.size()));
  for (int64_t v : values) t.add_int64_data(v);
  return t;
}

struct Attr {
  std::string name;
  std::vector<int64_t> ints;
  std::string s;
  bool is_int = false;
};
inline Attr ints(const std::string& n, std::vector<int64_t> v) {
  return {n, std::move(v), "", false};
}
inline Attr one_int(const std::string& n, int64_t v) {
  return {n, {v}, "", true};
}
inline Attr str(const std::string& n, const std::string& v) {
  return {n, {}, v, false};
}

// A model with input x (N, 1, 8, 8) and output y; nodes and initializers added by the test.
class Model {
 public:
  explicit Model(int64_t opset = 13, std::vector<int64_t> input_dims = {1, 8, 8}) {
    m_.set_ir_version(7);
    auto* os = m_.add_opset_import();
    os->set_domain("");
    os->set_version(opset);
    auto* in = m_.mutable_graph()->add_input();
    in->set_name("x");
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_param("N");
    for (int64_t d : input_dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  Model& node(const std::string& op, std::vector<std::string> in, const std::string& out,
              std::vector<Attr> attrs = {}) {
    auto* n = m_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name("/" + op + "_" + out + "/" + op);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    for (const Attr& a : attrs) {
      auto* p = n->add_attribute();
      p->set_name(a.name);
      if (a.is_int) {
        p->set_type(onnx::AttributeProto::INT);
        p->set_i(a.ints[0]);
      } else if (!a.s.empty()) {
        p->set_type(onnx::AttributeProto::STRING);
        p->set_s(a.s);
      } else {
        p->set_type(onnx::AttributeProto::INTS);
        for (int64_t v : a.ints) p->add_ints(v);
      }
    }
    return *this;
  }
  Model& init(TensorProto t) {
    *m_.mutable_graph()->add_initializer() = std::move(t);
    return *this;
  }
  Model& output(const std::string& name) {
    m_.mutable_graph()->add_output()->set_name(name);
    return *this;
  }
  const onnx::ModelProto& proto() const { return m_; }
  void save(const std::string& path) const {
    std::ofstream out(path, std::ios::binary);
    m_.SerializeToOstream(&out);
  }

 private:
  onnx::ModelProto m_;
};

}  // namespace qf::test
