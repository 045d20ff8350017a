// quant's list of ops (quantize / dequantize, fake-quant, PACT, BatchNorm folding, the int8
// convolution and matmul), registered into the op registry by the list of built-in ops
// (launch/lib/builtin_ops.cpp) after nn's.
#pragma once

#include "nn/op_registry.h"

namespace qf {

// Each op's definition with its CPU kernels, then, in CUDA builds, their CUDA kernels.
void register_quant_ops(OpRegistry& reg);

}  // namespace qf
