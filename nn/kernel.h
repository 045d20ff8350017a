// The kernel interface every op implementation provides, on every device.
//
// A Kernel is created once per node and per input shape (at Executor::prepare) and keeps whatever it
// needs between forward and backward (oneDNN primitives, reordered weights, saved batch statistics,
// pooling workspaces). It allocates only when it is created, never while running a step; scratch
// memory comes from the executor through `workspace`.
//
// Gradient contract, for every kernel: backward OVERWRITES each grad_in it is given (never
// accumulates); grad_in[i] is null where no gradient is needed. grad_out[i] is always a valid tensor
// (zeros where an output does not reach the loss). The executor sums gradients of values that feed
// several nodes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "nn/tensor.h"

namespace qf {

class Communicator;
class DeviceContext;
struct Node;

// recompute: reproduce the output of the last train-mode forward from the same inputs, updating no
// state and talking to no other rank. Only kernels of ops with OpDef::recompute_for_backward are
// called with it (the training executor recomputes their outputs for backward instead of keeping
// them).
enum class Mode : uint8_t { train, eval, recompute };

// Per-step information for stateful or random ops.
struct StepInfo {
  int64_t step = 0;    // global training step (dropout masks, range_abs_max windows)
  uint64_t seed = 0;   // run seed
};

// Shape and element type of one tensor, as shape inference sees it.
struct TensorDesc {
  Shape shape;
  DType dtype = DType::f32;
};

struct ForwardCall {
  std::span<const Tensor* const> in;  // null for an absent optional input; state inputs are
                                      // updated through their handles in training
  std::span<const Tensor* const> out;
  Mode mode = Mode::train;
  StepInfo step;
  void* workspace = nullptr;
};

struct BackwardCall {
  std::span<const Tensor* const> in;
  std::span<const Tensor* const> out;
  std::span<const Tensor* const> grad_out;
  std::span<const Tensor* const> grad_in;  // null where not needed; overwritten
  void* workspace = nullptr;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual size_t workspace_bytes() const { return 0; }
  virtual void forward(const ForwardCall& call) = 0;
  virtual void backward(const BackwardCall& call);
};

// What a kernel factory sees when the executor creates the kernel for one node.
struct KernelSetup {
  const Node& node;
  std::span<const TensorDesc> in;   // empty shape for an absent optional input (node.inputs[i] < 0)
  std::span<const TensorDesc> out;
  DeviceContext& ctx;
  bool training;  // the executor will run train-mode forward and backward
  // Ranks' collectives for ops whose forward must agree across ranks (quantizer scales: the batch
  // abs-max is all-reduced with MAX before it updates a scale). Null in a single process.
  Communicator* comm = nullptr;
  // Inputs (bit i: input i) whose contents never change between forward passes: constants, and
  // parameters and buffers under ExecOptions::frozen_params. A kernel may prepare them once
  // (reordered weights) instead of on every call.
  uint32_t constant_inputs = 0;
};

using KernelFactory = std::unique_ptr<Kernel> (*)(const KernelSetup&);

}  // namespace qf
