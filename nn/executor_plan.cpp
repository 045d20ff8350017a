// Planning a training step's memory (contract in nn/executor.h, the why in docs/memory.md): which
// values get a gradient, how long each activation, gradient and scratch buffer lives on the step's
// timeline, which outputs are recomputed for backward. Nothing here allocates.
#include <algorithm>

#include "nn/executor_plan.h"
#include "nn/op_registry.h"

namespace qf {

Executor::GradFlow Executor::grad_flow() const {
  const auto& nodes = graph_.nodes();
  const OpRegistry& reg = op_registry();
  const int nv = graph_.num_values();
  auto differentiable = [&](const Node& n, size_t k) {
    return !reg.get(n.op).is_nondiff_input(static_cast<int>(k));
  };
  // needs[v]: v depends on a parameter.
  std::vector<bool> needs(nv, false);
  for (int v = 0; v < nv; ++v) needs[v] = graph_.value(v).kind == ValueKind::param;
  for (const Node& n : nodes) {
    bool any = false;
    for (size_t i = 0; i < n.inputs.size(); ++i)
      if (n.inputs[i] >= 0 && differentiable(n, i)) any = any || needs[n.inputs[i]];
    for (int o : n.outputs) needs[o] = any;
  }
  GradFlow f;
  f.reaches = needed_for(graph_, {loss_}, differentiable).values;
  f.gets_grad.assign(nv, false);
  for (int v = 0; v < nv; ++v) f.gets_grad[v] = needs[v] && f.reaches[v];
  f.contributions.assign(nv, 0);
  f.runs_backward.assign(nodes.size(), false);
  for (size_t i = 0; i < nodes.size(); ++i)
    for (size_t k = 0; k < nodes[i].inputs.size(); ++k) {
      const int v = nodes[i].inputs[k];
      if (v >= 0 && differentiable(nodes[i], k) && f.gets_grad[v]) {
        f.runs_backward[i] = true;
        ++f.contributions[v];
      }
    }
  return f;
}

// The forward half of the training timeline. Each activation takes a slot when its node runs and
// gives it back after its last forward reader, unless some node's backward reads it
// (OpDef::backward_reads_*): then it is saved until the first of those backward passes in time to
// run, the reader with the lowest node index (saved_until). Values the caller reads after the step
// (graph outputs, ExecOptions::outputs, the loss) keep their slots.
void Executor::plan_activations(const GradFlow& f, GradPlan& p) const {
  const auto& nodes = graph_.nodes();
  const OpRegistry& reg = op_registry();
  const int nv = graph_.num_values();
  // Backward readers of each value: the lowest node index (the last to run) and the highest.
  std::vector<int> last_forward(nv, -1), first_backward(nv, -1), last_backward_reader(nv, -1);
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    const OpDef& def = reg.get(n.op);
    const int node = static_cast<int>(i);
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int v = n.inputs[k];
      if (v < 0) continue;
      last_forward[v] = node;
      if (f.runs_backward[i] && def.backward_reads_input(static_cast<int>(k))) {
        if (first_backward[v] < 0) first_backward[v] = node;
        last_backward_reader[v] = node;
      }
    }
    for (size_t k = 0; k < n.outputs.size(); ++k)  // read by its own backward: no earlier reader
      if (f.runs_backward[i] && def.backward_reads_output(static_cast<int>(k)))
        first_backward[n.outputs[k]] = last_backward_reader[n.outputs[k]] = node;
  }
  std::vector<bool> keep(nv, options_.save_all_activations);
  for (int v : wanted_outputs()) keep[v] = true;
  for (int v : graph_.outputs()) keep[v] = true;
  keep[loss_] = true;
  plan_recomputes(first_backward, last_backward_reader, keep, p);
  p.activation_slot.assign(nv, -1);
  p.saved_until.assign(nodes.size(), {});
  std::vector<bool> retired(nv, false);
  auto retire = [&](int v) {  // v's last forward use has been planned
    if (keep[v] || retired[v]) return;
    retired[v] = true;
    if (first_backward[v] >= 0)
      p.saved_until[first_backward[v]].push_back(v);
    else
      p.planner.release(p.activation_slot[v]);
  };
  for (int v = 0; v < nv; ++v)
    if (graph_.value(v).kind == ValueKind::activation && (keep[v] || first_backward[v] >= 0))
      p.saved_bytes += bytes_of(descs_[v]);
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (int o : nodes[i].outputs) p.activation_slot[o] = p.planner.acquire(bytes_of(descs_[o]));
    for (int v : nodes[i].inputs)
      if (v >= 0 && p.activation_slot[v] >= 0 && last_forward[v] == static_cast<int>(i)) retire(v);
    for (int o : nodes[i].outputs)
      if (last_forward[o] < 0) retire(o);
  }
}

// Gradient buffers, the backward half of the timeline: parameters write into the store;
// activations' gradients get slots whose lifetime ends when their producer's backward has read
// them, and saved activations give their slots back after their last backward reader. Identity
// backward (OpDef::grad_passthrough) and element-wise in-place backward (OpDef::grad_in_place): the
// input's gradient takes over the output's buffer, or the output's gradient is written straight
// into the parameter's gradient. Later contributions to a value land in scratch and are summed.
void Executor::plan_grad_buffers(const GradFlow& f, GradPlan& p) const {
  const auto& nodes = graph_.nodes();
  const OpRegistry& reg = op_registry();
  const int nv = graph_.num_values();
  p.slot_of.assign(nv, -1);
  p.scratch_uses.resize(nodes.size());
  p.direct.resize(nodes.size());
  p.aliased.assign(nodes.size(), false);
  std::vector<bool> assigned(nv, false);
  assigned[loss_] = true;
  for (size_t i = nodes.size(); i-- > 0;) {
    if (!f.runs_backward[i]) continue;
    for (GradPlan::Recompute& r : p.recomputes)
      if (r.from == static_cast<int>(i)) r.slot = p.planner.acquire(bytes_of(descs_[r.value]));
    const Node& n = nodes[i];
    const OpDef& def = reg.get(n.op);
    p.direct[i].assign(n.inputs.size(), 0);
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int v = n.inputs[k];
      if (v < 0 || def.is_nondiff_input(static_cast<int>(k)) || !f.gets_grad[v]) continue;
      const int o = n.outputs[0];
      if ((def.grad_passthrough || def.grad_in_place) && k == 0 && !assigned[v] &&
          p.slot_of[o] >= 0 && descs_[o].shape == descs_[v].shape &&
          descs_[o].dtype == descs_[v].dtype) {
        assigned[v] = true;
        p.direct[i][k] = 1;
        p.aliased[i] = def.grad_passthrough;  // an in-place backward still runs
        if (param_index_[v] >= 0) {
          p.param_aliases.push_back({o, v});
        } else {  // the slot passes from o to v: not released below
          p.slot_of[v] = p.slot_of[o];
          p.slot_of[o] = -1;
          p.views.push_back({v, p.slot_of[v]});
        }
        continue;
      }
      if (!assigned[v]) {
        assigned[v] = true;
        p.direct[i][k] = 1;
        if (param_index_[v] < 0) {
          p.slot_of[v] = p.planner.acquire(bytes_of(descs_[v]));
          p.views.push_back({v, p.slot_of[v]});
        }
      } else {
        // Scratch lives through this node's backward and the sum after it.
        p.scratch_uses[i].push_back(
            {static_cast<int>(k), v, p.planner.acquire(bytes_of(descs_[v]))});
      }
    }
    for (int o : n.outputs)
      if (p.slot_of[o] >= 0) p.planner.release(p.slot_of[o]);
    for (const GradPlan::ScratchUse& u : p.scratch_uses[i]) p.planner.release(u.slot);
    for (int v : p.saved_until[i]) p.planner.release(p.activation_slot[v]);
    for (const GradPlan::Recompute& r : p.recomputes)
      if (r.until == static_cast<int>(i)) p.planner.release(r.slot);
  }
}

// Fake-quant outputs and the like (OpDef::recompute_for_backward) whose input 0 outlives their
// readers' backward passes anyway (a parameter, or an activation saved for another backward, such
// as a ReLU's output): rather than keeping the output as well, bring it back just in time. This is
// what makes quant-aware training cost no more memory than FP32 training.
void Executor::plan_recomputes(std::vector<int>& first_backward,
                               const std::vector<int>& last_backward_reader,
                               const std::vector<bool>& keep, GradPlan& p) const {
  const auto& nodes = graph_.nodes();
  for (size_t r = 0; r < nodes.size(); ++r) {
    const Node& n = nodes[r];
    if (!op_registry().get(n.op).recompute_for_backward || n.outputs.size() != 1 ||
        n.inputs.empty() || n.inputs[0] < 0)
      continue;
    const int y = n.outputs[0], x = n.inputs[0];
    if (keep[y] || first_backward[y] < 0) continue;
    const bool x_lives = graph_.value(x).kind != ValueKind::activation || keep[x];
    if (!x_lives && first_backward[x] < 0) continue;  // keeping x instead of y would save nothing
    if (!x_lives) first_backward[x] = std::min(first_backward[x], first_backward[y]);
    p.recomputes.push_back({static_cast<int>(r), y, last_backward_reader[y], first_backward[y]});
    first_backward[y] = -1;
  }
}

}  // namespace qf
