// Graph: named values and the nodes that compute them, in topological order.
//
// Values are inputs (fed each step: images, labels), parameters (trainable), buffers (state the
// forward pass keeps: BN running statistics, quantizer scales), constants (fixed data, e.g. from an
// imported ONNX file) and activations (produced by exactly one node). Parameters and buffers carry
// an initialiser and are materialised by a ParamStore; the graph holds structure, not state.
//
// Every node has a dotted scope name that follows torchvision's module names ("features.3.0",
// "layer1.0.conv1"), and parameter names extend it ("features.3.0.weight"), so state dicts
// interchange by name and `not_quant_pattern` can match node scopes.
//
// Passes (quant/) rewrite graphs with the editing helpers below; after editing, call validate().
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "nn/attrs.h"
#include "nn/tensor.h"

namespace qf {

enum class ValueKind : uint8_t { input, param, buffer, constant, activation };
const char* value_kind_name(ValueKind k);

// How a parameter or buffer is filled before any checkpoint is loaded. Named after the PyTorch
// initialisers torchvision uses, so freshly built models start from the same distributions, plus
// Paddle's MSRA for the models PaddleSlim defines.
struct Init {
  enum class Kind : uint8_t {
    zeros,
    ones,
    constant,                // a
    normal,                  // mean a, std b
    uniform,                 // [a, b)
    kaiming_normal_fan_out,  // std = sqrt(2 / fan_out), fan_out = shape[0] * receptive field
    kaiming_uniform_fan_in,  // torch's default for Linear/Conv: bound = 1/sqrt(fan_in)
    msra_uniform_fan_in,     // Paddle's MSRA(uniform=True): bound = sqrt(6 / fan_in),
                             // fan_in = shape[1] * receptive field
    data,                    // the tensor `data` (host)
  };
  Kind kind = Kind::zeros;
  double a = 0, b = 0;
  Tensor data;

  static Init zeros() { return {}; }
  static Init ones() { return make(Kind::ones); }
  static Init constant(double v) { return make(Kind::constant, v); }
  static Init normal(double mean, double std) { return make(Kind::normal, mean, std); }
  static Init uniform(double lo, double hi) { return make(Kind::uniform, lo, hi); }
  static Init kaiming_normal_fan_out() { return make(Kind::kaiming_normal_fan_out); }
  // `fan_in` is passed explicitly so a bias can share its weight's bound.
  static Init kaiming_uniform_fan_in(double fan_in) {
    return make(Kind::kaiming_uniform_fan_in, fan_in);
  }
  static Init msra_uniform_fan_in() { return make(Kind::msra_uniform_fan_in); }
  static Init from(Tensor t) {
    Init i = make(Kind::data);
    i.data = std::move(t);
    return i;
  }

 private:
  static Init make(Kind k, double a = 0, double b = 0) {
    Init i;
    i.kind = k;
    i.a = a;
    i.b = b;
    return i;
  }
};

struct Value {
  std::string name;
  ValueKind kind = ValueKind::activation;
  DType dtype = DType::f32;
  // Params, buffers and constants: concrete. Inputs: dimension 0 may be -1 (the batch).
  // Activations: left empty; shape inference fills them for a given batch.
  Shape shape;
  Init init;            // params, buffers, constants
  float lr_mult = 1.f;  // params: learning-rate multiplier (PACT's alpha uses 1000)
  float decay_mult = 1.f;  // params: multiplier on the optimizer's L2 decay (0 = none)
};

struct Node {
  std::string op;    // registered op type, e.g. "conv2d"
  std::string name;  // dotted scope name, unique in the graph
  std::vector<int> inputs;   // value ids; -1 marks an absent optional input
  std::vector<int> outputs;  // value ids
  Attrs attrs;
};

class Graph {
 public:
  // Adds a value; its name must be new. Returns its id.
  int add_value(Value v);
  // A constant holding `t`, named `base` or, when taken, the first free `base.N`. Returns its id.
  int add_constant(const std::string& base, Tensor t);
  // An activation (shape left to inference), named like add_constant's. Returns its id.
  int add_activation(const std::string& base);
  // Appends a node after every node that produces its inputs. Returns its index.
  int add_node(Node n);
  // Inserts a node at position `pos` (passes use this to put a node right before its consumer).
  void insert_node(size_t pos, Node n);

  int find_value(const std::string& name) const;  // -1 if absent
  int value_id(const std::string& name) const;    // throws InputError naming the value
  const Value& value(int id) const { return values_.at(id); }
  Value& value(int id) { return values_.at(id); }
  const std::vector<Value>& values() const { return values_; }
  int num_values() const { return static_cast<int>(values_.size()); }

  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& nodes() { return nodes_; }
  const Node* find_node(const std::string& name) const;

  void mark_output(int value_id);
  const std::vector<int>& outputs() const { return outputs_; }
  std::vector<int> inputs() const;  // values of kind input, in id order

  // A name not yet used by any value: `base`, or `base.1`, `base.2`, ...
  std::string unique_value_name(const std::string& base) const;
  std::string unique_node_name(const std::string& base) const;

  // Index of the node producing each value (-1 for non-activations), and consumer lists.
  std::vector<int> producers() const;
  std::vector<std::vector<int>> consumers() const;

  // Rewires every use of `from` as an input to `to`, in nodes whose index is not `except_node`.
  void replace_uses(int from, int to, int except_node = -1);
  // Removes nodes (by index set) and then values nothing refers to.
  void remove_nodes(const std::vector<int>& node_indices);
  void remove_unused_values();

  // Checks structure: ids in range, one producer per activation, producers before consumers,
  // known op types with a valid input count, unique node names. Throws InternalError.
  void validate() const;

 private:
  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::vector<int> outputs_;
  std::unordered_map<std::string, int> value_index_;
};

// What `outputs` depend on, walking the nodes backwards: a node is needed when one of its outputs
// is, and then so are its inputs — those `follow(node, input_index)` accepts, all when it is
// empty (the executor's backward pass follows only differentiable inputs).
struct Needed {
  std::vector<bool> nodes;   // by node index
  std::vector<bool> values;  // by value id: `outputs` and the inputs of needed nodes
};
Needed needed_for(const Graph& g, const std::vector<int>& outputs,
                  const std::function<bool(const Node&, size_t)>& follow = {});

// A graph of `nodes` (in this order, value ids of `g`) with exactly the values they read or write
// and `outputs`, renumbered in g's order; `outputs` become its outputs.
Graph graph_from_nodes(const Graph& g, std::vector<Node> nodes, const std::vector<int>& outputs);

}  // namespace qf
