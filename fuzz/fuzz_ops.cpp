// Linked into the fuzz targets that build or run graphs (onnx_import, checkpoint_state, config):
// libFuzzer calls LLVMFuzzerInitialize once before the first input, and the op registry must be
// installed before any graph is built (nn/op_registry.h), as qforge's main does first.
#include "launch/lib/builtin_ops.h"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  qf::install_builtin_ops();
  return 0;
}
