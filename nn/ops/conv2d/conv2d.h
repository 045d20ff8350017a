// conv2d: y = conv(x, w) + b, with stride, asymmetric padding, dilation and groups (depthwise when
// groups == C == K).
//   inputs: x (N, C, H, W) activation, w (K, C/groups, R, S), b (K) optional
//   attrs:  strides [sh, sw] (1,1), pads [top, left, bottom, right] (0), dilations [dh, dw] (1,1),
//           group (1)
//   inference fusion: a residual input 3 and an activation attr (nn/ops/conv2d/conv2d_epilogue.h)
//   output: y (N, K, OH, OW), OH = (H + pt + pb - dh*(R-1) - 1) / sh + 1
#pragma once

#include "nn/op_registry.h"
#include "nn/ops/conv2d/conv2d_epilogue.h"
#include "nn/ops/conv2d/conv2d_ref.h"

namespace qf {

// Geometry of a conv2d node for the given input descriptors (validated; InputError on misuse).
ConvGeom conv_geom(const Node& node, const TensorDesc& x, const TensorDesc& w);

// InternalError when a training kernel is asked for a conv2d with a fused epilogue.
void check_conv_epilogue_for_inference(const KernelSetup& s);

std::unique_ptr<Kernel> make_conv2d_dnnl(const KernelSetup& s);

void register_conv2d(OpRegistry& reg);

}  // namespace qf
