// Conv + BatchNorm folding for inference (docs/quantization.md; PaddleSlim's PTQ `fuse` /
// quant_post_static's optimize_model): every conv2d whose output feeds exactly one batch_norm (and
// nothing else) absorbs it, with the BN's running statistics:
//   k_c = gamma_c / sqrt(running_var_c + eps)
//   W'_c = W_c k_c                   (per output channel, axis 0)
//   b'_c = (b_c - running_mean_c) k_c + beta_c      (b = 0 when the conv has no bias)
// The batch_norm node disappears; its consumers read the conv's output. The weights come from the
// graph's initialisers (Init::from data: an imported ONNX model, or a checkpoint baked into the
// graph); the new weight and bias are parameters "<conv>.weight" / "<conv>.bias" carrying the
// folded data. Computed in double, stored as float32.
#pragma once

#include "nn/graph.h"

namespace qf {

// Returns the number of folded pairs. InputError when a BN's statistics or the conv's weights are
// not available as data; with skip_without_data such a pair is left unfolded instead (the inference
// pipeline on a QDQ graph, whose weights may come from a DequantizeLinear).
int fuse_conv_bn(Graph& g, bool skip_without_data = false);

}  // namespace qf
