// The inference graph pipeline's fusions, shared by eval, bench, infer and the int8 path
// (launch/lib/inference.h prepare_inference_graph runs them):
//  1. fold every BatchNorm into the convolution before it (quant/fuse_conv_bn.h: W' = W k,
//     b' = (b - mean) k + beta, k = gamma / sqrt(var + eps));
//  2. fold a residual Add into the convolution whose output it adds, y = conv(x) + r, where r is
//     computed before that convolution runs (of two convolutions feeding one Add, the later);
//  3. fold the activation that alone reads a convolution's (or its fused Add's) output: relu,
//     relu6, clip, hardswish, hardsigmoid;
//  4. fold each expand (1x1) -> depthwise -> project (1x1) chain of convolutions whose two
//     intermediate values nothing else reads into one inverted_residual op
//     (nn/ops/inverted_residual/inverted_residual.h), MobileNetV2's block, which the CPU runs strip
//     by strip so that the expanded tensor stays in the cache;
//  5. in an int8 graph (after quant/int8_lowering.h), fold a per-tensor DequantizeLinear that
//     alone feeds an Add, and the ReLU that alone reads the Add, into one dequantize_add
//     (quant/ops/qdq/dequantize_add.cpp): the residual join of a QDQ ResNet whose shortcut stays
//     float, one pass over memory instead of three, the same float operations.
// and, separately (choose_winograd), Winograd F(4,3)/F(2,3) for the dense 3x3 stride-1
// convolutions: ~2.25x fewer multiplications, a larger rounding error than the direct algorithm
// (docs/inference.md), so it is a choice of its own (--winograd).
// The fused conv2d (nn/ops/conv2d/conv2d_epilogue.h) computes act(conv(x) + b + r) in one pass, on
// oneDNN as post-ops. A value is folded away only when nothing else reads it and it is not a
// graph output, so every value a user can ask for survives.
#pragma once

#include "nn/graph.h"

namespace qf {

struct InferenceFusionReport {
  int batch_norms = 0;     // folded into convolutions
  int residual_adds = 0;   // folded into convolutions
  int activations = 0;     // folded into convolutions
  int winograd = 0;        // convolutions marked for Winograd
  int inverted_residuals = 0;  // expand -> depthwise -> project chains fused
  int dequantize_adds = 0; // DequantizeLinear -> Add (-> ReLU) chains fused
};

// Step 4 alone (after steps 2 and 3: the convolutions carry their activations); returns how many.
int fuse_inverted_residuals(Graph& g);

// Step 5 alone; returns how many chains.
int fuse_dequantize_adds(Graph& g);

// Steps 2 and 3 (float conv2d nodes only; a conv2d that already carries an epilogue is left).
InferenceFusionReport fuse_conv_epilogues(Graph& g);

// Marks every float dense 3x3 stride-1 undilated convolution with at least 32 input and output
// channels `algorithm = winograd` (the CPU kernel falls back to direct where oneDNN has none).
// Returns how many.
int choose_winograd(Graph& g);

// Steps 1-5 (step 4 only with `blocks`). A BatchNorm whose statistics or conv weights are not in
// the graph as data stays.
InferenceFusionReport fuse_for_inference(Graph& g, bool blocks = true);

}  // namespace qf
