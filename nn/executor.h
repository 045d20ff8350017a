// Executor: runs a graph's forward pass (train or eval mode) and its backward pass on one device.
//
// prepare(batch) resolves every shape for that batch size, creates one kernel per node and plans
// memory over the step's timeline (forward nodes in order, then their backward passes in reverse):
// an activation lives from its node's forward to its last forward reader, or, if a backward reads
// it (OpDef::backward_reads_*, PyTorch's "saved tensors"), to the first of those backward passes
// to run; a gradient of an activation lives from the first consumer's backward to its producer's
// backward. All of them live in one arena, placed so that values alive at the same time never
// share bytes (nn/arena_planner.h). An output that backward reads but its op can reproduce exactly
// (OpDef::recompute_for_backward: a fake-quant of a value kept anyway) is recomputed just before
// its first backward reader instead of being kept. An inference executor (training = false) runs
// only the nodes its outputs need and places its activations in an arena the same way.
//
// Parameters and buffers live in the ParamStore; parameter gradients are written into its gradient
// arena, overwritten each backward. Values used by several nodes get their gradients summed here,
// so kernels never accumulate. After the last contribution to a parameter's gradient, the
// grad-ready hook fires with that parameter's index in the store (gradient sync starts there).
// Ops whose backward is the identity (OpDef::grad_passthrough, the fake-quant straight-through
// estimator) cost nothing: where the op is its input's last consumer, the input's gradient is the
// output's gradient buffer (or the output's gradient is written straight into the parameter's
// gradient), and the op's backward is skipped. Element-wise ops whose backward may overwrite the
// output gradient (OpDef::grad_in_place: the activations) get the same single buffer and run.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/context.h"
#include "nn/graph.h"
#include "nn/param_store.h"

namespace qf {

struct ExecOptions {
  bool training = true;               // plan a backward pass from `loss`
  // Training: keep every activation until the end of backward (the plan before saved-tensor
  // lifetimes). Tests compare it with the default plan; benchmarks measure what it costs.
  bool save_all_activations = false;
  std::string loss = "loss";          // the scalar value to differentiate (training)
  // Inference: the values to compute (default: the graph outputs). Training: activations that stay
  // readable after the step besides the graph outputs and the loss (the others' memory is reused).
  std::vector<std::string> outputs;
  // Inference: parameters and buffers stay as they are for the executor's life (a loaded model,
  // not a model in training), so kernels may keep prepared copies (KernelSetup::constant_inputs).
  bool frozen_params = false;
  Communicator* comm = nullptr;       // handed to kernels that synchronise state across ranks
};

class Executor {
 public:
  Executor(const Graph& graph, ParamStore& store, DeviceContext& ctx, ExecOptions options = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Plans for `batch` samples. Does nothing if the batch size is unchanged.
  void prepare(int64_t batch);
  int64_t batch() const { return batch_; }

  // Any value's tensor on the device: inputs to fill, activations to read after forward.
  const Tensor& tensor(int value_id) const;
  const Tensor& tensor(const std::string& name) const;
  const TensorDesc& desc(int value_id) const { return descs_.at(value_id); }
  // Copies a host tensor into input `name` (shapes must match).
  void set_input(const std::string& name, const Tensor& host);

  void forward(Mode mode, const StepInfo& step = {});
  // Backpropagates from the loss; call after forward(Mode::train).
  void backward();
  // Gradient of an activation or input after backward (tests, debugging). Only valid for values
  // whose buffers were not reused, i.e. directly after backward for inputs and parameters' users.
  const Tensor& grad(int value_id) const;

  void set_grad_ready_hook(std::function<void(size_t param_index)> hook) {
    grad_ready_ = std::move(hook);
  }

  // Per-op timing: when enabled, forward/backward time of every node is accumulated (the device is
  // synchronised around each node, so enable it only to look, not while measuring throughput).
  void enable_profiling(bool on) { profile_ = on; }
  // Time per op type (forward, backward, calls), most expensive first.
  std::string profile_report() const;
  void reset_profile();

  // What prepare() allocated on the device, by purpose, in bytes (parameters, their gradients and
  // the optimizer's state live in the ParamStore and the optimizer).
  struct MemoryPlan {
    size_t slots = 0;      // the arena: activations, their gradients, gradient scratch
    size_t workspace = 0;  // kernels' scratch memory (the largest one's)
    size_t other = 0;      // inputs, constants, the loss seed, zero gradients
    size_t saved = 0;      // of the slots: activations alive when the forward pass ends (training)
    size_t total() const { return slots + workspace + other; }
  };
  const MemoryPlan& memory_plan() const { return memory_; }

  const Graph& graph() const { return graph_; }
  ParamStore& store() { return store_; }
  DeviceContext& context() { return ctx_; }

 private:
  struct NodePlan;
  struct RecomputedValue;
  struct GradFlow;
  struct GradPlan;
  // The values an inference executor computes: options.outputs, else the graph's outputs.
  std::vector<int> wanted_outputs() const;
  void plan_values();
  void plan_backward();
  GradFlow grad_flow() const;
  void plan_activations(const GradFlow& flow, GradPlan& plan) const;
  void plan_grad_buffers(const GradFlow& flow, GradPlan& plan) const;
  void plan_recomputes(std::vector<int>& first_backward, const std::vector<int>& last_backward_reader,
                       const std::vector<bool>& keep, GradPlan& plan) const;
  void allocate_grads(const GradFlow& flow, const GradPlan& plan);
  void wire_backward(const GradFlow& flow, const GradPlan& plan);
  void create_kernels();
  bool never_changes(ValueKind kind) const;  // KernelSetup::constant_inputs
  void account_memory();
  void recompute(RecomputedValue& r, void* workspace);

  const Graph& graph_;
  ParamStore& store_;
  DeviceContext& ctx_;
  ExecOptions options_;
  int64_t batch_ = -1;
  int loss_ = -1;

  std::vector<TensorDesc> descs_;
  std::vector<Tensor> tensors_;      // by value id
  std::vector<Tensor> grads_;        // by value id (undefined where no gradient flows)
  std::vector<bool> run_forward_;    // by node
  std::vector<std::unique_ptr<NodePlan>> plans_;  // by node (null if the node does not run)
  std::vector<int> param_index_;     // value id -> index in store.params() (-1 otherwise)
  Tensor arena_;                     // the memory behind activations and their gradients
  std::vector<RecomputedValue> recomputes_;
  StepInfo last_step_;               // of the last forward, for recomputing
  Tensor workspace_;
  Tensor loss_seed_;                 // holds 1.0: d loss / d loss
  MemoryPlan memory_;
  size_t zero_grad_bytes_ = 0, saved_bytes_ = 0;
  std::function<void(size_t)> grad_ready_;
  bool profile_ = false;
  std::vector<double> fwd_seconds_, bwd_seconds_;  // by node
  int64_t profiled_steps_ = 0;
};

}  // namespace qf
