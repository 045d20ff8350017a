// Weights for `--init` from an FP32 ONNX model's initializers (io/onnx_file.h).
//
// Matching, in two passes:
//   1. by name: an initializer named like a parameter or buffer of the store (qforge's own
//      exports, and PyTorch exports made with export_params and no constant folding) is that
//      tensor;
//   2. by order and shape: the store's remaining entries, in graph order, take the remaining
//      floating-point, non-scalar initializers in file order, one after the other; each must
//      have exactly the entry's shape. (PyTorch names folded or anonymous initializers
//      "onnx::Conv_123"; graph order and file order agree for exports of the same architecture.)
// With `allow_missing_buffers`, a buffer whose shape does not fit the next initializer is left
// out (it keeps its initial value) instead of being an error.
// Errors are InputErrors naming the file, the entry, its expected shape and what was found.
#pragma once

#include <string>
#include <vector>

#include "io/onnx_file.h"
#include "nn/param_store.h"

namespace qf {

struct OnnxWeights {
  TensorMap tensors;                // by store entry name
  std::vector<std::string> unused;  // initializers that matched no entry
  int64_t by_name = 0, by_order = 0;
};

OnnxWeights match_onnx_initializers(const ParamStore& store, const OnnxInitializers& onnx,
                                    const std::string& path, bool allow_missing_buffers);

// Whether `path` names an ONNX file (extension .onnx, any case).
bool is_onnx_path(const std::string& path);

}  // namespace qf
