// linear (torch.nn.Linear, ONNX Gemm with transB = 1): y = x w^T + b
//   inputs: x (N, in), w (out, in) — PyTorch's layout, row-major — , b (out) optional
//   output: y (N, out)
//   macs:   N * in * out
// Gradient contract (all overwritten, each optional):
//   dx = dy w          (N, in)
//   dw = dy^T x        (out, in)
//   db = sum_n dy      (out)
#pragma once

#include "nn/op_registry.h"

namespace qf {

struct LinearGeom {
  int64_t N, in, out;
  bool bias;
};

// Validated geometry of a linear node (InputError on misuse).
LinearGeom linear_geom(const Node& node, std::span<const TensorDesc> in);

std::unique_ptr<Kernel> make_linear_dnnl(const KernelSetup& s);

void register_linear(OpRegistry& reg);

}  // namespace qf
