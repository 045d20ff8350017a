// register_quant_cuda_kernels: fills the cuda column of quant's ops (CUDA builds only;
// quant/ops/cuda_stub/register_cuda_stub.cpp stands in otherwise). qconv2d and qlinear, the int8
// engine's ops, have no CUDA kernel (tests/ops/coverage_test.cpp lists them).
#include "nn/op_registry.h"

namespace qf {
namespace cuda {

void register_bn_fold_cuda(OpRegistry& reg);
void register_fake_quant_cuda(OpRegistry& reg);
void register_pact_cuda(OpRegistry& reg);
void register_qdq_cuda(OpRegistry& reg);

}  // namespace cuda

void register_quant_cuda_kernels(OpRegistry& reg) {
  cuda::register_bn_fold_cuda(reg);
  cuda::register_fake_quant_cuda(reg);
  cuda::register_pact_cuda(reg);
  cuda::register_qdq_cuda(reg);
}

}  // namespace qf
