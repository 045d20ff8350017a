// inverted_residual: MobileNetV2's block (expand, depthwise, project) as one inference op, made by
// quant/inference_fusion.h from three conv2d nodes whose intermediate values nothing else reads:
//   h = act_e(conv(x, we) + be)        expand: 1x1, stride 1, unpadded, one group
//   d = act_d(conv(h, wd) + bd)        depthwise: R x S, any stride and padding, groups = E
//   y = act_p(conv(d, wp) + bp + r)    project: 1x1, stride 1, unpadded, one group
//   inputs: x (N, C, H, W), we (E, C, 1, 1), be (E), wd (E, 1, R, S), bd (E), wp (K, E, 1, 1),
//           bp (K), r (N, K, OH, OW); biases and r optional (-1 when absent); float32 only
//   attrs:  each convolution's conv2d attrs (nn/ops/conv2d/conv2d.h, including the fused
//           activation of conv2d_epilogue.h) under "expand.", "depthwise." and "project."
//   output: y (N, K, OH, OW); may be written over r (forward_in_place_input)
// The CPU kernel runs the three convolutions on a strip of output rows of one image at a time,
// each thread on its own strips, so that the expanded tensor (E, typically 6 C, channels at the
// block's largest resolution) lives in the cache instead of going to memory and back twice.
#pragma once

#include <span>

#include "nn/op_registry.h"
#include "nn/ops/conv2d/conv2d.h"

namespace qf {

enum InvertedResidualInput {
  kIrX = 0,
  kIrExpandW,
  kIrExpandB,
  kIrDepthwiseW,
  kIrDepthwiseB,
  kIrProjectW,
  kIrProjectB,
  kIrResidual,
};

// The block as three conv2d nodes (attrs and the presence of bias and residual inputs) and their
// geometry; InputError when the node is not a valid block.
struct InvertedResidual {
  Node expand, depthwise, project;
  ConvGeom e, d, p;
};
InvertedResidual inverted_residual_of(const Node& node, std::span<const TensorDesc> in);

// The attr prefixes of the three convolutions.
inline constexpr const char* kIrStagePrefixes[3] = {"expand.", "depthwise.", "project."};

std::unique_ptr<Kernel> make_inverted_residual_dnnl(const KernelSetup& s);

void register_inverted_residual(OpRegistry& reg);

}  // namespace qf
