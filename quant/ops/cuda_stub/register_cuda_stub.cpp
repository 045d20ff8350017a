// Linked in builds without CUDA: quant's ops have no CUDA kernels.
#include "nn/op_registry.h"

namespace qf {

void register_quant_cuda_kernels(OpRegistry&) {}

}  // namespace qf
