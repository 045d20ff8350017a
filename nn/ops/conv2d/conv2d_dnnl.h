// The oneDNN form of a conv2d's fused epilogue (conv2d_epilogue.h), shared by the CPU kernels that
// run convolutions on oneDNN (conv2d_cpu.cpp, nn/ops/inverted_residual).
#pragma once

#include <dnnl.hpp>

#include "nn/ops/conv2d/conv2d_epilogue.h"

namespace qf {

// sum (the residual, which must already be in the output), then the activation as eltwise.
dnnl::post_ops conv_post_ops(const ConvEpilogue& e);

}  // namespace qf
