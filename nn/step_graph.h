// StepGraph: how a training step is run, step after step, on one device.
//
// A training step (forward, backward, gradient all-reduce, optimizer update) has static shapes, so
// a GPU can record it once and replay the recording (a CUDA graph) instead of launching a few
// hundred kernels from the host every step. Everything that changes from step to step must then
// come from the step's StepValues — the step counter and seed (dropout masks, quantizer windows)
// and the learning rate — and the kernels that use them read them at run time from memory the
// device context refreshes before each replay (nn/kernels/cuda/cuda_context.h), never from values
// baked in when the step was recorded.
//
// Contract for `fn`: it takes every per-step value from its StepValues argument (the host code
// around kernel launches runs only while recording), enqueues device work only (no host reads of
// device memory, no allocation after the first step), and does the same work every step.
// Inputs are copied in before run() and outputs read after it.
//
// EagerStepGraph (every CPU context; a CUDA context with cuda.graphs off or with collectives that
// cannot be recorded) simply calls fn each step.
#pragma once

#include <functional>
#include <memory>

#include "nn/kernel.h"

namespace qf {

struct StepValues {
  StepInfo step;    // global step and run seed
  double lr = 0.0;  // learning rate of this step
};

using StepFn = std::function<void(const StepValues&)>;

class StepGraph {
 public:
  virtual ~StepGraph() = default;
  // Runs one step with these values (enqueued; the device may still be busy on return).
  virtual void run(const StepValues& v) = 0;
  // True once the step is recorded and runs as replays.
  virtual bool recorded() const = 0;
};

class EagerStepGraph final : public StepGraph {
 public:
  explicit EagerStepGraph(StepFn fn) : fn_(std::move(fn)) {}
  void run(const StepValues& v) override { fn_(v); }
  bool recorded() const override { return false; }

 private:
  StepFn fn_;
};

}  // namespace qf
