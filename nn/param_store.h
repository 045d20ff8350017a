// ParamStore: the model's state — trainable parameters, their gradients and buffers — held in one
// arena per (role, dtype) with named views, so that gradient all-reduce works on a few large
// contiguous ranges, the optimizer updates everything in one pass, and checkpoints are a list of
// (name, view) pairs.
//
// Views are in graph order (the order values were added), which is the same on every rank.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "nn/context.h"
#include "nn/graph.h"

namespace qf {

struct ParamEntry {
  std::string name;
  ValueKind kind;  // param or buffer
  Shape shape;
  DType dtype;
  size_t offset = 0;  // bytes into its arena
  Tensor data;        // view into the data arena
  Tensor grad;        // view into the gradient arena (params only)
  float lr_mult = 1.f;
  float decay_mult = 1.f;
};

class ParamStore {
 public:
  // Materialises every param and buffer of `graph` on ctx's device. Random initialisers draw from a
  // generator seeded by (seed, value name), so a value's initial data does not depend on which other
  // values exist or on the device.
  ParamStore(const Graph& graph, DeviceContext& ctx, uint64_t seed);

  const std::vector<ParamEntry>& params() const { return params_; }
  const std::vector<ParamEntry>& buffers() const { return buffers_; }
  const ParamEntry* find(const std::string& name) const;
  // Every param and buffer in graph order (the order their values were added to the graph).
  std::vector<const ParamEntry*> entries() const;

  // Trainable parameters (f32) and their gradients as single tensors.
  const Tensor& param_arena() const { return param_arena_; }
  const Tensor& grad_arena() const { return grad_arena_; }
  // Buffers grouped by dtype.
  const std::map<DType, Tensor>& buffer_arenas() const { return buffer_arenas_; }

  DeviceContext& context() const { return *ctx_; }

  // Host copies of every param and buffer, by name.
  std::map<std::string, Tensor> state_dict() const;
  // Copies host tensors into the entries of the same name. Shapes and dtypes must match exactly
  // (InputError naming the tensor, the expected and the found shape); nothing is copied unless all
  // of them match. Reports what the store has and `state` lacks, and the reverse; callers decide
  // which of those is an error.
  struct LoadReport {
    std::vector<std::string> missing;  // in the store, not in `state`
    std::vector<std::string> unused;   // in `state`, not in the store
  };
  LoadReport load_state_dict(const std::map<std::string, Tensor>& state);

 private:
  DeviceContext* ctx_;
  std::vector<ParamEntry> params_;
  std::vector<ParamEntry> buffers_;
  std::unordered_map<std::string, std::pair<bool, size_t>> index_;  // name -> (is_param, i)
  std::vector<std::pair<bool, size_t>> order_;                       // graph order
  Tensor param_arena_;
  Tensor grad_arena_;
  std::map<DType, Tensor> buffer_arenas_;
};

// Fills a host tensor according to `init` (see Init). `name` seeds random initialisers.
void initialize(const Tensor& t, const Init& init, const std::string& name, uint64_t seed);

}  // namespace qf
