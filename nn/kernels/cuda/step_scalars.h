// The per-step values that GPU kernels read from device memory instead of kernel arguments, so
// that a training step recorded once as a CUDA graph picks up each step's values when replayed
// (nn/step_graph.h). Plain data, shared by host and device code.
#pragma once

#include <cstdint>

namespace qf::cuda {

struct StepScalars {
  uint64_t seed = 0;  // run seed (dropout masks)
  int64_t step = 0;   // global training step
  float lr = 0.f;     // learning rate of the optimizer update
  float unused = 0.f;
};

}  // namespace qf::cuda
