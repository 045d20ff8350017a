// The training executor's memory plan, shared by nn/executor.cpp (which allocates and runs it) and
// nn/executor_plan.cpp (which decides it): the data the planning functions hand over. Private to nn.
#pragma once

#include <utility>
#include <vector>

#include "nn/arena_planner.h"
#include "nn/executor.h"

namespace qf {

inline size_t bytes_of(const TensorDesc& d) {
  return static_cast<size_t>(numel(d.shape)) * dtype_size(d.dtype);
}

// Which values get a gradient, which nodes run backward, and how many gradient contributions each
// value receives (to know when a parameter's gradient is complete).
struct Executor::GradFlow {
  std::vector<bool> reaches;        // by value: influences the loss
  std::vector<bool> gets_grad;      // by value: depends on a parameter and reaches the loss
  std::vector<bool> runs_backward;  // by node
  std::vector<int> contributions;   // by value
};

// Where each activation, gradient and scratch buffer lives, decided before any memory is
// allocated. A "slot" is the id of one buffer in the planner's arena.
struct Executor::GradPlan {
  ArenaPlanner planner;                            // activations and gradients, one timeline
  std::vector<int> activation_slot;                // by value: its activation's slot, or -1
  std::vector<std::vector<int>> saved_until;       // by node: activations its backward frees
  // Outputs of OpDef::recompute_for_backward nodes brought back for backward: recomputed into
  // `slot` before node `from`'s backward, free after node `until`'s (from >= until).
  struct Recompute {
    int node, value, from, until, slot = -1;
  };
  std::vector<Recompute> recomputes;
  size_t saved_bytes = 0;  // activations alive when the forward pass ends
  std::vector<int> slot_of;                        // by value: its gradient's slot, or -1
  std::vector<std::pair<int, int>> views;          // (value, slot) whose gradient is a slot view
  std::vector<std::pair<int, int>> param_aliases;  // (output value, parameter value)
  struct ScratchUse {
    int k, value, slot;  // input k's contribution to value's gradient lands in slot
  };
  std::vector<std::vector<ScratchUse>> scratch_uses;  // by node
  std::vector<std::vector<int>> direct;  // by node, input k: writes the gradient in place (1)
  std::vector<bool> aliased;             // by node: identity backward, skipped
};

}  // namespace qf
