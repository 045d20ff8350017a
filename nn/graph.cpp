#include "nn/graph.h"

#include <algorithm>
#include <set>

#include "nn/op_registry.h"

namespace qf {

const char* value_kind_name(ValueKind k) {
  switch (k) {
    case ValueKind::input: return "input";
    case ValueKind::param: return "param";
    case ValueKind::buffer: return "buffer";
    case ValueKind::constant: return "constant";
    case ValueKind::activation: return "activation";
  }
  return "?";
}

int Graph::add_value(Value v) {
  QF_CHECK(!v.name.empty(), "value without a name");
  QF_CHECK(!value_index_.count(v.name), "duplicate value name '", v.name, "'");
  const int id = static_cast<int>(values_.size());
  value_index_[v.name] = id;
  values_.push_back(std::move(v));
  return id;
}

int Graph::add_constant(const std::string& base, Tensor t) {
  Value v;
  v.name = unique_value_name(base);
  v.kind = ValueKind::constant;
  v.dtype = t.dtype();
  v.shape = t.shape();
  v.init = Init::from(std::move(t));
  return add_value(std::move(v));
}

int Graph::add_activation(const std::string& base) {
  Value v;
  v.name = unique_value_name(base);
  return add_value(std::move(v));
}

int Graph::add_node(Node n) {
  nodes_.push_back(std::move(n));
  return static_cast<int>(nodes_.size()) - 1;
}

void Graph::insert_node(size_t pos, Node n) {
  QF_CHECK(pos <= nodes_.size(), "insert position out of range");
  nodes_.insert(nodes_.begin() + static_cast<std::ptrdiff_t>(pos), std::move(n));
}

int Graph::find_value(const std::string& name) const {
  auto it = value_index_.find(name);
  return it == value_index_.end() ? -1 : it->second;
}

int Graph::value_id(const std::string& name) const {
  const int id = find_value(name);
  if (id < 0) throw_input_error("the graph has no value named '", name, "'");
  return id;
}

const Node* Graph::find_node(const std::string& name) const {
  for (const Node& n : nodes_)
    if (n.name == name) return &n;
  return nullptr;
}

void Graph::mark_output(int value_id) {
  QF_CHECK(value_id >= 0 && value_id < num_values(), "output id out of range");
  if (std::find(outputs_.begin(), outputs_.end(), value_id) == outputs_.end())
    outputs_.push_back(value_id);
}

std::vector<int> Graph::inputs() const {
  std::vector<int> r;
  for (int i = 0; i < num_values(); ++i)
    if (values_[i].kind == ValueKind::input) r.push_back(i);
  return r;
}

std::string Graph::unique_value_name(const std::string& base) const {
  if (find_value(base) < 0) return base;
  for (int i = 1;; ++i) {
    std::string n = base + "." + std::to_string(i);
    if (find_value(n) < 0) return n;
  }
}

std::string Graph::unique_node_name(const std::string& base) const {
  std::set<std::string> used;
  for (const Node& n : nodes_) used.insert(n.name);
  if (!used.count(base)) return base;
  for (int i = 1;; ++i) {
    std::string n = base + "." + std::to_string(i);
    if (!used.count(n)) return n;
  }
}

std::vector<int> Graph::producers() const {
  std::vector<int> p(values_.size(), -1);
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (int o : nodes_[i].outputs) p[o] = static_cast<int>(i);
  return p;
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> c(values_.size());
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (int in : nodes_[i].inputs)
      if (in >= 0 && (c[in].empty() || c[in].back() != static_cast<int>(i)))
        c[in].push_back(static_cast<int>(i));
  return c;
}

void Graph::replace_uses(int from, int to, int except_node) {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (static_cast<int>(i) == except_node) continue;
    for (int& in : nodes_[i].inputs)
      if (in == from) in = to;
  }
  for (int& o : outputs_)
    if (o == from) o = to;
}

void Graph::remove_nodes(const std::vector<int>& node_indices) {
  std::set<int> drop(node_indices.begin(), node_indices.end());
  std::vector<Node> kept;
  kept.reserve(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (!drop.count(static_cast<int>(i))) kept.push_back(std::move(nodes_[i]));
  nodes_ = std::move(kept);
  remove_unused_values();
}

void Graph::remove_unused_values() {
  std::vector<bool> used(values_.size(), false);
  for (const Node& n : nodes_) {
    for (int v : n.inputs)
      if (v >= 0) used[v] = true;
    for (int v : n.outputs) used[v] = true;
  }
  for (int o : outputs_) used[o] = true;
  for (size_t i = 0; i < values_.size(); ++i)
    if (values_[i].kind == ValueKind::input) used[i] = true;
  std::vector<int> remap(values_.size(), -1);
  std::vector<Value> kept;
  for (size_t i = 0; i < values_.size(); ++i) {
    if (!used[i]) continue;
    remap[i] = static_cast<int>(kept.size());
    kept.push_back(std::move(values_[i]));
  }
  values_ = std::move(kept);
  value_index_.clear();
  for (size_t i = 0; i < values_.size(); ++i) value_index_[values_[i].name] = static_cast<int>(i);
  for (Node& n : nodes_) {
    for (int& v : n.inputs)
      if (v >= 0) v = remap[v];
    for (int& v : n.outputs) v = remap[v];
  }
  for (int& o : outputs_) o = remap[o];
}

void Graph::validate() const {
  const OpRegistry& reg = op_registry();
  std::vector<int> produced_by(values_.size(), -1);
  std::set<std::string> names;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    QF_CHECK(names.insert(n.name).second, "duplicate node name '", n.name, "'");
    const OpDef* def = reg.find(n.op);
    QF_CHECK(def, "node '", n.name, "' has unknown op type '", n.op, "'");
    const int nin = static_cast<int>(n.inputs.size());
    QF_CHECK(nin >= def->min_inputs && nin <= def->max_inputs, "node '", n.name, "' (", n.op,
             ") has ", nin, " inputs");
    QF_CHECK(static_cast<int>(n.outputs.size()) == def->num_outputs, "node '", n.name, "' (", n.op,
             ") has ", n.outputs.size(), " outputs, expected ", def->num_outputs);
    for (int v : n.inputs) {
      if (v < 0) continue;
      QF_CHECK(v < num_values(), "node '", n.name, "' input id out of range");
      if (values_[v].kind == ValueKind::activation)
        QF_CHECK(produced_by[v] >= 0, "node '", n.name, "' reads '", values_[v].name,
                 "' before it is produced");
    }
    for (int v : n.outputs) {
      QF_CHECK(v >= 0 && v < num_values(), "node '", n.name, "' output id out of range");
      QF_CHECK(values_[v].kind == ValueKind::activation, "node '", n.name, "' writes ",
               value_kind_name(values_[v].kind), " '", values_[v].name, "'");
      QF_CHECK(produced_by[v] < 0, "value '", values_[v].name, "' has two producers");
      produced_by[v] = static_cast<int>(i);
    }
  }
  for (int o : outputs_)
    QF_CHECK(values_[o].kind != ValueKind::activation || produced_by[o] >= 0, "graph output '",
             values_[o].name, "' is never produced");
}

Needed needed_for(const Graph& g, const std::vector<int>& outputs,
                  const std::function<bool(const Node&, size_t)>& follow) {
  Needed r{std::vector<bool>(g.nodes().size(), false), std::vector<bool>(g.num_values(), false)};
  for (int o : outputs) r.values[o] = true;
  for (size_t i = g.nodes().size(); i-- > 0;) {
    const Node& n = g.nodes()[i];
    bool any = false;
    for (int o : n.outputs) any = any || r.values[o];
    if (!any) continue;
    r.nodes[i] = true;
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (n.inputs[k] >= 0 && (!follow || follow(n, k))) r.values[n.inputs[k]] = true;
  }
  return r;
}

Graph graph_from_nodes(const Graph& g, std::vector<Node> nodes, const std::vector<int>& outputs) {
  std::vector<bool> used(g.num_values(), false);
  for (int o : outputs) used[o] = true;
  for (const Node& n : nodes) {
    for (int v : n.inputs)
      if (v >= 0) used[v] = true;
    for (int v : n.outputs) used[v] = true;
  }
  Graph r;
  std::vector<int> map(g.num_values(), -1);
  for (int v = 0; v < g.num_values(); ++v)
    if (used[v]) map[v] = r.add_value(g.value(v));
  for (Node& n : nodes) {
    for (int& v : n.inputs)
      if (v >= 0) v = map[v];
    for (int& v : n.outputs) v = map[v];
    r.add_node(std::move(n));
  }
  for (int o : outputs) r.mark_output(map[o]);
  return r;
}

}  // namespace qf
