// The op registry: every op type is registered once with its shape inference, its cost, and a
// kernel table with one factory per kernel kind (fast CPU, plain CPU reference, CUDA).
//
// One mechanism picks the device: the executor looks up the kernel kind for its context here.
// Builds without CUDA simply leave the CUDA column empty.
//
// nn/ knows only its own ops (nn/ops/register.cpp). The list of every built-in op — nn's and the
// layers' above it (quant/ops) — is assembled above nn, in launch/lib/builtin_ops.h, and installed
// once at the start of each program (install_builtin_ops); op_registry() then serves it.
#pragma once

#include <array>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "nn/graph.h"
#include "nn/kernel.h"

namespace qf {

enum class KernelKind : uint8_t { cpu, cpu_ref, cuda };
constexpr int kNumKernelKinds = 3;
const char* kernel_kind_name(KernelKind k);

using InferFn = std::vector<TensorDesc> (*)(const Node& node,
                                            std::span<const TensorDesc> in);
// Multiply-accumulate count of one forward pass (for `qforge summary`).
using MacsFn = int64_t (*)(const Node& node, std::span<const TensorDesc> in,
                           std::span<const TensorDesc> out);

struct OpDef {
  std::string type;
  int min_inputs = 1;
  int max_inputs = 1;
  int num_outputs = 1;
  std::vector<int> state_inputs;    // buffers updated by the training forward (running stats, scales)
  std::vector<int> nondiff_inputs;  // never receive a gradient (labels, state)
  // Backward is the identity dx0 = dout0 and no other input gets a gradient (straight-through
  // fake-quant). The executor may then give dx0 and dout0 one buffer and skip the backward.
  bool grad_passthrough = false;
  // Backward computes each element of dx0 from the same element of dout0 (and saved tensors) only,
  // on every device, so dx0 may be written over dout0: where the op is its input's last consumer
  // the executor gives both one buffer (no fresh buffer to fault in, one fewer alive).
  bool grad_in_place = false;
  // The forward tensors some kernel's backward reads (on any device), as bit masks over input and
  // output positions; shapes are always available. The training executor frees an activation
  // after its last forward use unless a backward reads it, and then after the last such backward
  // (PyTorch's saved tensors): a mask that leaves out a tensor a kernel reads corrupts gradients,
  // so the default is everything, and an op narrows it only after every kernel was checked.
  uint32_t backward_reads_inputs = ~0u;
  uint32_t backward_reads_outputs = ~0u;
  // Output 0 is a cheap function of the inputs that the kernel reproduces bit for bit
  // (Mode::recompute), like a fake-quant of its input with the scale it just used. Where input 0
  // stays alive anyway, the training executor does not keep such an output for its consumers'
  // backward passes: it recomputes it into a short-lived buffer just before the first of them.
  bool recompute_for_backward = false;
  // Inference: output 0 may be written over this input (same shape and type) where the node is the
  // input's last reader; the kernel must then cope with the two being one buffer. -1: never.
  int forward_in_place_input = -1;
  InferFn infer = nullptr;
  MacsFn macs = nullptr;
  std::array<KernelFactory, kNumKernelKinds> kernels{};

  bool is_state_input(int i) const;
  bool is_nondiff_input(int i) const;
  bool backward_reads_input(int i) const { return i >= 32 || (backward_reads_inputs >> i) & 1u; }
  bool backward_reads_output(int i) const { return i >= 32 || (backward_reads_outputs >> i) & 1u; }
};

class OpRegistry {
 public:
  void add(OpDef def);  // a type may be registered once
  void set_kernel(const std::string& type, KernelKind kind, KernelFactory f);
  const OpDef* find(const std::string& type) const;
  const OpDef& get(const std::string& type) const;  // InternalError if unknown
  std::vector<std::string> types() const;

 private:
  std::unordered_map<std::string, OpDef> defs_;
};

// Registers nn's ops with their CPU kernels, then their CUDA kernels in CUDA builds.
void register_nn_ops(OpRegistry& reg);

// The process's registry: the one installed last. InternalError when none is installed.
const OpRegistry& op_registry();
// Installs the registry `fill` fills, once per process (before any graph is built or run); calling
// it again with the same `fill` does nothing, with another is an InternalError.
void install_op_registry(void (*fill)(OpRegistry&));

// Runs shape inference for one node (validates input count first).
std::vector<TensorDesc> infer_node(const Node& node, std::span<const TensorDesc> in);

// Shape inference over a whole graph, with the inputs' batch dimension (-1) set to `batch`: the
// description of every value, by value id. InputError naming the first node that does not fit.
std::vector<TensorDesc> infer_graph(const Graph& g, int64_t batch);

// Shape-inference helpers shared by op definitions. They throw InputError naming the node.
[[noreturn]] void shape_error(const Node& node, const std::string& what);
void expect_rank(const Node& node, const TensorDesc& d, int rank, const char* which);

}  // namespace qf
