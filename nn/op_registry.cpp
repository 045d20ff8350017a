#include "nn/op_registry.h"

#include <algorithm>
#include <memory>

namespace qf {
namespace {

struct Installed {
  std::unique_ptr<const OpRegistry> registry;
  void (*fill)(OpRegistry&) = nullptr;
};

Installed& installed() {
  static Installed i;
  return i;
}

}  // namespace

const char* kernel_kind_name(KernelKind k) {
  switch (k) {
    case KernelKind::cpu: return "cpu";
    case KernelKind::cpu_ref: return "cpu_ref";
    case KernelKind::cuda: return "cuda";
  }
  return "?";
}

bool OpDef::is_state_input(int i) const {
  return std::find(state_inputs.begin(), state_inputs.end(), i) != state_inputs.end();
}

bool OpDef::is_nondiff_input(int i) const {
  return is_state_input(i) ||
         std::find(nondiff_inputs.begin(), nondiff_inputs.end(), i) != nondiff_inputs.end();
}

void OpRegistry::add(OpDef def) {
  QF_CHECK(!defs_.count(def.type), "op '", def.type, "' registered twice");
  QF_CHECK(def.infer, "op '", def.type, "' has no shape inference");
  std::string type = def.type;
  defs_.emplace(std::move(type), std::move(def));
}

void OpRegistry::set_kernel(const std::string& type, KernelKind kind, KernelFactory f) {
  auto it = defs_.find(type);
  QF_CHECK(it != defs_.end(), "kernel for unregistered op '", type, "'");
  it->second.kernels[static_cast<int>(kind)] = f;
}

const OpDef* OpRegistry::find(const std::string& type) const {
  auto it = defs_.find(type);
  return it == defs_.end() ? nullptr : &it->second;
}

const OpDef& OpRegistry::get(const std::string& type) const {
  const OpDef* d = find(type);
  QF_CHECK(d, "unknown op type '", type, "'");
  return *d;
}

std::vector<std::string> OpRegistry::types() const {
  std::vector<std::string> r;
  for (auto& [k, v] : defs_) r.push_back(k);
  std::sort(r.begin(), r.end());
  return r;
}

const OpRegistry& op_registry() {
  const Installed& i = installed();
  QF_CHECK(i.registry,
           "no op registry installed: the program must call install_builtin_ops() "
           "(launch/lib/builtin_ops.h) at start");
  return *i.registry;
}

void install_op_registry(void (*fill)(OpRegistry&)) {
  Installed& i = installed();
  if (i.fill == fill) return;
  QF_CHECK(!i.fill, "a different op registry is installed already");
  auto reg = std::make_unique<OpRegistry>();
  fill(*reg);
  i.registry = std::move(reg);
  i.fill = fill;
}

std::vector<TensorDesc> infer_node(const Node& node, std::span<const TensorDesc> in) {
  const OpDef& def = op_registry().get(node.op);
  const int n = static_cast<int>(in.size());
  if (n < def.min_inputs || n > def.max_inputs)
    shape_error(node, str_cat("takes ", def.min_inputs, "..", def.max_inputs, " inputs, got ", n));
  std::vector<TensorDesc> out = def.infer(node, in);
  QF_CHECK(static_cast<int>(out.size()) == def.num_outputs, "op '", node.op,
           "' inferred the wrong number of outputs");
  return out;
}

std::vector<TensorDesc> infer_graph(const Graph& g, int64_t batch) {
  std::vector<TensorDesc> d(g.num_values());
  for (int v = 0; v < g.num_values(); ++v) {
    Shape s = g.value(v).shape;
    if (g.value(v).kind == ValueKind::input && !s.empty() && s[0] < 0) s[0] = batch;
    d[v] = {s, g.value(v).dtype};
  }
  for (const Node& n : g.nodes()) {
    std::vector<TensorDesc> in;
    for (int v : n.inputs) in.push_back(v >= 0 ? d[v] : TensorDesc{});
    const auto out = infer_node(n, in);
    for (size_t i = 0; i < out.size(); ++i) d[n.outputs[i]] = out[i];
  }
  return d;
}

void shape_error(const Node& node, const std::string& what) {
  throw_input_error("node '", node.name, "' (", node.op, "): ", what);
}

void expect_rank(const Node& node, const TensorDesc& d, int rank, const char* which) {
  if (static_cast<int>(d.shape.size()) != rank)
    shape_error(node, str_cat(which, " must have rank ", rank, ", got shape ", shape_str(d.shape)));
}

void Kernel::backward(const BackwardCall&) {
  throw InternalError("this kernel has no backward pass");
}

}  // namespace qf
