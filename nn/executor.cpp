#include "nn/executor.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <sstream>

#include "nn/executor_plan.h"
#include "nn/op_registry.h"

namespace qf {

struct Executor::NodePlan {
  std::unique_ptr<Kernel> kernel;
  std::vector<const Tensor*> in, out;
  bool backward = false;
  std::vector<const Tensor*> grad_out;
  std::vector<const Tensor*> grad_in;
  std::vector<Tensor> scratch_views;  // where extra contributions land before being summed
  std::vector<std::pair<const Tensor*, const Tensor*>> sums;  // dst += src after the kernel
  std::vector<size_t> ready_params;   // parameters whose gradient is complete after this node
  bool skip_backward = false;         // grad_passthrough with dx0 aliasing dout0: nothing to do
  std::vector<size_t> recompute_before;  // indices into Executor::recomputes_
};

// An output that backward gets recomputed (GradPlan::Recompute): it lives in one slot during the
// forward pass and in another around its readers' backward passes.
struct Executor::RecomputedValue {
  int node, value;
  Tensor forward_view, backward_view;
};


Executor::Executor(const Graph& graph, ParamStore& store, DeviceContext& ctx, ExecOptions options)
    : graph_(graph), store_(store), ctx_(ctx), options_(std::move(options)) {
  graph_.validate();
  if (options_.training) loss_ = graph_.value_id(options_.loss);
}

Executor::~Executor() = default;

const Tensor& Executor::tensor(int value_id) const { return tensors_.at(value_id); }

const Tensor& Executor::tensor(const std::string& name) const {
  return tensors_.at(graph_.value_id(name));
}

const Tensor& Executor::grad(int value_id) const { return grads_.at(value_id); }

void Executor::set_input(const std::string& name, const Tensor& host) {
  const Tensor& t = tensor(name);
  if (host.shape() != t.shape() || host.dtype() != t.dtype())
    throw_input_error("input '", name, "' expects ", shape_str(t.shape()), " ",
                      dtype_name(t.dtype()), ", got ", shape_str(host.shape()), " ",
                      dtype_name(host.dtype()));
  ctx_.copy(t, host);
}

void Executor::prepare(int64_t batch) {
  if (batch == batch_) return;
  QF_CHECK(batch > 0, "batch size must be positive");
  batch_ = batch;
  const auto& nodes = graph_.nodes();
  const int nv = graph_.num_values();

  // Shapes for this batch.
  descs_.assign(nv, TensorDesc{});
  for (int v = 0; v < nv; ++v) {
    const Value& val = graph_.value(v);
    if (val.kind == ValueKind::activation) continue;
    Shape s = val.shape;
    if (val.kind == ValueKind::input && !s.empty() && s[0] < 0) s[0] = batch;
    descs_[v] = {s, val.dtype};
  }
  for (const Node& n : nodes) {
    std::vector<TensorDesc> in;
    for (int v : n.inputs) in.push_back(v >= 0 ? descs_[v] : TensorDesc{});
    std::vector<TensorDesc> out = infer_node(n, in);
    for (size_t i = 0; i < out.size(); ++i) descs_[n.outputs[i]] = out[i];
  }

  // Which nodes run: all of them in training; in inference only what the outputs need.
  run_forward_.assign(nodes.size(), options_.training);
  if (!options_.training) run_forward_ = needed_for(graph_, wanted_outputs()).nodes;

  plan_values();
  create_kernels();
  if (options_.training) plan_backward();

  size_t ws = 0;
  for (auto& p : plans_)
    if (p) ws = std::max(ws, p->kernel->workspace_bytes());
  workspace_ = ws ? ctx_.empty({static_cast<int64_t>(ws)}, DType::u8) : Tensor();
  account_memory();
}

void Executor::account_memory() {
  memory_ = MemoryPlan{};
  memory_.slots = arena_.defined() ? arena_.nbytes() : 0;
  memory_.workspace = workspace_.defined() ? workspace_.nbytes() : 0;
  for (int v = 0; v < graph_.num_values(); ++v) {
    const ValueKind k = graph_.value(v).kind;
    if ((k == ValueKind::input || k == ValueKind::constant) && tensors_[v].defined())
      memory_.other += tensors_[v].nbytes();
  }
  if (loss_seed_.defined()) memory_.other += loss_seed_.nbytes();
  memory_.other += zero_grad_bytes_;
  memory_.saved = options_.training ? saved_bytes_ : 0;
}

std::vector<int> Executor::wanted_outputs() const {
  if (options_.outputs.empty()) return graph_.outputs();
  std::vector<int> ids;
  for (const std::string& name : options_.outputs) ids.push_back(graph_.value_id(name));
  return ids;
}

void Executor::plan_values() {
  const auto& nodes = graph_.nodes();
  const int nv = graph_.num_values();
  tensors_.assign(nv, Tensor{});
  param_index_.assign(nv, -1);
  for (int v = 0; v < nv; ++v) {
    const Value& val = graph_.value(v);
    switch (val.kind) {
      case ValueKind::param:
      case ValueKind::buffer: {
        const ParamEntry* e = store_.find(val.name);
        QF_CHECK(e, "value '", val.name, "' is not in the parameter store");
        QF_CHECK(e->shape == val.shape, "store shape of '", val.name, "' differs from the graph");
        tensors_[v] = e->data;
        if (val.kind == ValueKind::param)
          param_index_[v] = static_cast<int>(e - store_.params().data());
        break;
      }
      case ValueKind::constant: {
        tensors_[v] = ctx_.empty(val.shape, val.dtype);
        Tensor host = Tensor::empty(val.shape, val.dtype);
        initialize(host, val.init, val.name, 0);
        ctx_.copy(tensors_[v], host);
        break;
      }
      case ValueKind::input: tensors_[v] = ctx_.empty(descs_[v].shape, descs_[v].dtype); break;
      case ValueKind::activation: break;
    }
  }
  if (options_.training) return;  // activations share slots with gradients (plan_backward)
  // Inference: an activation's memory is free after its last consumer ran.
  std::vector<int> last_use(nv, -1);
  for (size_t i = 0; i < nodes.size(); ++i)
    if (run_forward_[i])
      for (int v : nodes[i].inputs)
        if (v >= 0) last_use[v] = static_cast<int>(i);
  std::vector<bool> keep(nv, false);
  for (int o : wanted_outputs()) keep[o] = true;
  ArenaPlanner planner;
  std::vector<int> slot_of(nv, -1);
  const OpRegistry& reg = op_registry();
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!run_forward_[i]) continue;
    const Node& n = nodes[i];
    auto dies_here = [&](int v) {
      return v >= 0 && slot_of[v] >= 0 && last_use[v] == static_cast<int>(i) && !keep[v];
    };
    // The output written over a dying input of the same size (OpDef::forward_in_place_input).
    const int k = reg.get(n.op).forward_in_place_input;
    const int over = k >= 0 && k < static_cast<int>(n.inputs.size()) ? n.inputs[k] : -1;
    const bool in_place = n.outputs.size() == 1 && dies_here(over) &&
                          bytes_of(descs_[over]) == bytes_of(descs_[n.outputs[0]]) &&
                          std::count(n.inputs.begin(), n.inputs.end(), over) == 1;
    for (int o : n.outputs) slot_of[o] = in_place ? slot_of[over] : planner.acquire(bytes_of(descs_[o]));
    for (int v : n.inputs)
      if (dies_here(v) && !(in_place && v == over)) planner.release(slot_of[v]);
    for (int o : nodes[i].outputs)  // outputs nobody reads
      if (last_use[o] < 0 && !keep[o]) planner.release(slot_of[o]);
  }
  planner.place();
  arena_ = ctx_.empty({static_cast<int64_t>(std::max<size_t>(planner.total(), 1))}, DType::u8);
  for (int v = 0; v < nv; ++v)
    if (slot_of[v] >= 0)
      tensors_[v] = arena_.view(planner.offset(slot_of[v]), descs_[v].shape, descs_[v].dtype);
}

bool Executor::never_changes(ValueKind kind) const {
  if (kind == ValueKind::constant) return true;
  return options_.frozen_params && (kind == ValueKind::param || kind == ValueKind::buffer);
}

void Executor::create_kernels() {
  const auto& nodes = graph_.nodes();
  const OpRegistry& reg = op_registry();
  plans_.clear();
  plans_.resize(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!run_forward_[i]) continue;
    const Node& n = nodes[i];
    const OpDef& def = reg.get(n.op);
    KernelKind kind = ctx_.kernel_kind();
    KernelFactory f = def.kernels[static_cast<int>(kind)];
    // Ops whose reference kernel is already the fast one register only that.
    if (!f && kind == KernelKind::cpu) f = def.kernels[static_cast<int>(KernelKind::cpu_ref)];
    if (!f)
      throw_input_error("op '", n.op, "' (node '", n.name, "') has no ", kernel_kind_name(kind),
                        " kernel");
    std::vector<TensorDesc> in, out;
    for (int v : n.inputs) in.push_back(v >= 0 ? descs_[v] : TensorDesc{});
    for (int v : n.outputs) out.push_back(descs_[v]);
    auto plan = std::make_unique<NodePlan>();
    KernelSetup setup{n, in, out, ctx_, options_.training, options_.comm};
    for (size_t k = 0; k < n.inputs.size() && k < 32; ++k)
      if (n.inputs[k] >= 0 && never_changes(graph_.value(n.inputs[k]).kind))
        setup.constant_inputs |= 1u << k;
    plan->kernel = f(setup);
    for (int v : n.inputs) plan->in.push_back(v >= 0 ? &tensors_[v] : nullptr);
    for (int v : n.outputs) plan->out.push_back(&tensors_[v]);
    plans_[i] = std::move(plan);
  }
}

void Executor::allocate_grads(const GradFlow& f, const GradPlan& p) {
  const auto& nodes = graph_.nodes();
  const int nv = graph_.num_values();
  grads_.assign(nv, Tensor{});
  zero_grad_bytes_ = 0;
  loss_seed_ = ctx_.empty(descs_[loss_].shape, DType::f32);
  Tensor one = Tensor::empty(descs_[loss_].shape, DType::f32);
  one.fill(1.f);
  ctx_.copy(loss_seed_, one);
  grads_[loss_] = loss_seed_;
  arena_ = ctx_.empty({static_cast<int64_t>(std::max<size_t>(p.planner.total(), 1))}, DType::u8);
  auto at = [&](int id, int v, DType t) { return arena_.view(p.planner.offset(id), descs_[v].shape, t); };
  for (int v = 0; v < nv; ++v)
    if (p.activation_slot[v] >= 0)
      tensors_[v] = at(p.activation_slot[v], v, descs_[v].dtype);
  for (const auto& [v, slot] : p.views)
    grads_[v] = at(slot, v, DType::f32);
  recomputes_.clear();
  for (const GradPlan::Recompute& r : p.recomputes) {
    plans_[r.from]->recompute_before.push_back(recomputes_.size());
    recomputes_.push_back({r.node, r.value, tensors_[r.value], at(r.slot, r.value, descs_[r.value].dtype)});
  }
  for (int v = 0; v < nv; ++v)
    if (param_index_[v] >= 0) grads_[v] = store_.params()[param_index_[v]].grad;
  for (auto [o, v] : p.param_aliases) grads_[o] = grads_[v];
  // Zero gradients for outputs of backward nodes that do not reach the loss.
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!f.runs_backward[i]) continue;
    for (int o : nodes[i].outputs)
      if (!f.reaches[o] || !grads_[o].defined()) {
        grads_[o] = ctx_.empty(descs_[o].shape, DType::f32);
        zero_grad_bytes_ += grads_[o].nbytes();
        ctx_.zero(grads_[o]);
      }
  }
}

// Per-node call arguments of backward, and the parameters each node completes.
void Executor::wire_backward(const GradFlow& f, const GradPlan& plan) {
  const auto& nodes = graph_.nodes();
  std::vector<int> left = f.contributions;
  for (size_t i = nodes.size(); i-- > 0;) {
    if (!f.runs_backward[i]) continue;
    NodePlan& p = *plans_[i];
    const Node& n = nodes[i];
    p.backward = true;
    p.skip_backward = plan.aliased[i];
    p.grad_out.clear();
    for (int o : n.outputs) p.grad_out.push_back(&grads_[o]);
    p.grad_in.assign(n.inputs.size(), nullptr);
    p.scratch_views.clear();
    p.scratch_views.reserve(n.inputs.size());
    for (size_t k = 0; k < n.inputs.size(); ++k)
      if (plan.direct[i][k]) p.grad_in[k] = &grads_[n.inputs[k]];
    for (const GradPlan::ScratchUse& u : plan.scratch_uses[i]) {
      p.scratch_views.push_back(
          arena_.view(plan.planner.offset(u.slot), descs_[u.value].shape, DType::f32));
      p.grad_in[u.k] = &p.scratch_views.back();
      p.sums.push_back({&grads_[u.value], &p.scratch_views.back()});
    }
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int v = n.inputs[k];
      if (p.grad_in[k] && --left[v] == 0 && param_index_[v] >= 0)
        p.ready_params.push_back(static_cast<size_t>(param_index_[v]));
    }
  }
}

void Executor::plan_backward() {
  if (numel(descs_[loss_].shape) != 1)
    throw_input_error("loss '", graph_.value(loss_).name, "' must be a scalar, has shape ",
                      shape_str(descs_[loss_].shape));
  const GradFlow flow = grad_flow();
  GradPlan plan;
  plan_activations(flow, plan);
  plan_grad_buffers(flow, plan);
  plan.planner.place();
  saved_bytes_ = plan.saved_bytes;
  allocate_grads(flow, plan);
  wire_backward(flow, plan);
}

void Executor::forward(Mode mode, const StepInfo& step) {
  QF_CHECK(batch_ > 0, "forward before prepare");
  QF_CHECK(mode == Mode::eval || options_.training, "train-mode forward on an inference executor");
  void* ws = workspace_.defined() ? workspace_.raw() : nullptr;
  if (profile_) {
    fwd_seconds_.resize(plans_.size(), 0.0);
    ++profiled_steps_;
  }
  last_step_ = step;
  for (RecomputedValue& r : recomputes_) tensors_[r.value] = r.forward_view;
  for (size_t i = 0; i < plans_.size(); ++i) {
    NodePlan* p = plans_[i].get();
    if (!p) continue;
    if (!profile_) {
      p->kernel->forward(ForwardCall{p->in, p->out, mode, step, ws});
      continue;
    }
    const auto t0 = std::chrono::steady_clock::now();
    p->kernel->forward(ForwardCall{p->in, p->out, mode, step, ws});
    ctx_.synchronize();
    fwd_seconds_[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
}

void Executor::reset_profile() {
  fwd_seconds_.assign(plans_.size(), 0.0);
  bwd_seconds_.assign(plans_.size(), 0.0);
  profiled_steps_ = 0;
}

std::string Executor::profile_report() const {
  struct Acc {
    double fwd = 0, bwd = 0;
    int nodes = 0;
  };
  std::map<std::string, Acc> by_op;
  double total = 0;
  for (size_t i = 0; i < plans_.size(); ++i) {
    if (!plans_[i]) continue;
    Acc& a = by_op[graph_.nodes()[i].op];
    a.fwd += i < fwd_seconds_.size() ? fwd_seconds_[i] : 0;
    a.bwd += i < bwd_seconds_.size() ? bwd_seconds_[i] : 0;
    ++a.nodes;
  }
  std::vector<std::pair<std::string, Acc>> rows(by_op.begin(), by_op.end());
  for (auto& [k, a] : rows) total += a.fwd + a.bwd;
  std::sort(rows.begin(), rows.end(),
            [](auto& x, auto& y) { return x.second.fwd + x.second.bwd > y.second.fwd + y.second.bwd; });
  const double steps = static_cast<double>(std::max<int64_t>(profiled_steps_, 1));
  std::ostringstream os;
  os << "op                      nodes   fwd ms/step   bwd ms/step   share\n";
  char line[160];
  for (auto& [op, a] : rows) {
    std::snprintf(line, sizeof line, "%-22s %6d %13.3f %13.3f %6.1f%%\n", op.c_str(), a.nodes,
                  1e3 * a.fwd / steps, 1e3 * a.bwd / steps,
                  total > 0 ? 100.0 * (a.fwd + a.bwd) / total : 0.0);
    os << line;
  }
  std::snprintf(line, sizeof line, "total %.3f ms/step over %lld steps\n", 1e3 * total / steps,
                static_cast<long long>(profiled_steps_));
  os << line;
  return os.str();
}

// Profiling counts the time as the recomputed node's backward time.
void Executor::recompute(RecomputedValue& r, void* ws) {
  tensors_[r.value] = r.backward_view;
  NodePlan& p = *plans_[r.node];
  const auto t0 = std::chrono::steady_clock::now();
  p.kernel->forward(ForwardCall{p.in, p.out, Mode::recompute, last_step_, ws});
  if (profile_) {
    ctx_.synchronize();
    bwd_seconds_[r.node] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
}

void Executor::backward() {
  QF_CHECK(options_.training && batch_ > 0, "backward needs a prepared training executor");
  void* ws = workspace_.defined() ? workspace_.raw() : nullptr;
  if (profile_) bwd_seconds_.resize(plans_.size(), 0.0);
  for (size_t i = plans_.size(); i-- > 0;) {
    NodePlan* p = plans_[i].get();
    if (!p || !p->backward) continue;
    for (size_t k : p->recompute_before) recompute(recomputes_[k], ws);
    const auto t0 = std::chrono::steady_clock::now();
    if (!p->skip_backward)
      p->kernel->backward(BackwardCall{p->in, p->out, p->grad_out, p->grad_in, ws});
    for (auto& [dst, src] : p->sums) ctx_.add_inplace(*dst, *src);
    if (profile_) {
      ctx_.synchronize();
      bwd_seconds_[i] +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    if (grad_ready_)
      for (size_t pi : p->ready_params) grad_ready_(pi);
  }
}

}  // namespace qf
