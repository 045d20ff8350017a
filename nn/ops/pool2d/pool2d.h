// max_pool2d and avg_pool2d (ONNX MaxPool / AveragePool, torch MaxPool2d / AvgPool2d).
//   input:  x (N, C, H, W) channels-last
//   attrs:  kernel_shape [kh, kw] (required), strides [sh, sw] (default = kernel_shape),
//           pads [top, left, bottom, right] (0; each pad < its kernel size, so every window holds
//           data), ceil_mode (0), avg only: count_include_pad (0, the ONNX/Paddle default)
//   output: y (N, C, OH, OW), OH = floor_or_ceil((H + pt + pb - kh) / sh) + 1, and with ceil_mode
//           the last window must start inside the input or its top padding (else OH - 1) —
//           PyTorch's and ONNX's rule. Same for OW.
//   macs:   N * C * OH * OW * kh * kw (one comparison or addition per window element).
// Window semantics (which elements count, ties, divisors) are stated in
// nn/ops/pool2d/pool2d_ref.h.
//
// Gradient contract: dx overwritten. max: each dy goes to the first maximum of its window;
// avg: dy / divisor goes to every data element of the window.
#pragma once

#include "nn/op_registry.h"
#include "nn/ops/pool2d/pool2d_ref.h"

namespace qf {

// Validated geometry of a pooling node (InputError on misuse).
PoolGeom pool_geom(const Node& node, const TensorDesc& x, bool avg);

// Fast CPU kernels: oneDNN, and for average pooling the OpenMP loops where oneDNN's divisor
// differs (the choice is made in nn/ops/pool2d/pool2d_cpu_dnnl.cpp).
std::unique_ptr<Kernel> make_max_pool2d_fast(const KernelSetup& s);
std::unique_ptr<Kernel> make_avg_pool2d_fast(const KernelSetup& s);
std::unique_ptr<Kernel> make_avg_pool2d_loops(const KernelSetup& s);

void register_pool2d(OpRegistry& reg);

}  // namespace qf
