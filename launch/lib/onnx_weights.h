// Weights for `--init` from an FP32 ONNX model's initializers (io/onnx_file.h).
//
// The candidate tensors (onnx_weight_tensors): the file's initializers, plus every value an
// Identity node makes of one or of a Constant node (torch.onnx's constant folding keeps one copy of
// identical tensors — MobileNetV3's zero-initialised squeeze-excitation biases — and writes the
// others as Identity nodes of it), ordered by their first use in the graph's nodes, then those no
// node reads in file order.
//
// Matching, in two passes:
//   1. by name: an initializer named like a parameter or buffer of the store (qforge's own
//      exports, and PyTorch exports made with export_params and no constant folding) is that
//      tensor;
//   2. by order and shape: the store's remaining entries, in graph order, take the remaining
//      floating-point, non-scalar tensors in the order above, one after the other; each must
//      have exactly the entry's shape. (PyTorch names folded or anonymous initializers
//      "onnx::Conv_123"; the order of use and qforge's graph order agree for exports of the same
//      architecture.)
// With `allow_missing_buffers`, a buffer whose shape does not fit the next initializer is left
// out (it keeps its initial value) instead of being an error.
// Errors are InputErrors naming the file, the entry, its expected shape and what was found, and
// why a file may not fit: a file without BatchNormalization nodes has had its BatchNorms folded
// into the convolutions (torch.onnx.export does that in eval mode), so it has no tensors for a
// model with BatchNorm (such a file can be imported whole with --model FILE.onnx instead).
#pragma once

#include <string>
#include <vector>

#include "io/onnx_file.h"
#include "nn/param_store.h"

namespace qf {

// The tensors of an ONNX file that --init may take (onnx_weight_tensors).
struct OnnxWeightTensors : OnnxInitializers {
  bool has_batch_norm = false;  // the graph has BatchNormalization nodes
};

struct OnnxWeights {
  TensorMap tensors;                // by store entry name
  std::vector<std::string> unused;  // initializers that matched no entry
  int64_t by_name = 0, by_order = 0;
};

OnnxWeights match_onnx_initializers(const ParamStore& store, const OnnxWeightTensors& onnx,
                                    const std::string& path, bool allow_missing_buffers);

// The candidate tensors of the ONNX file at `path`, in the order described above.
OnnxWeightTensors onnx_weight_tensors(const std::string& path);

// Whether `path` names an ONNX file (extension .onnx, any case).
bool is_onnx_path(const std::string& path);

}  // namespace qf
