// register_cuda_kernels: fills the cuda column of the op registry (called once by op_registry()
// after every op is defined, quant ops included). Every op registered on main has a CUDA kernel
// here.
#include "nn/op_registry.h"

namespace qf {
namespace cuda {

void register_pointwise_cuda(OpRegistry& reg);
void register_elementwise_cuda(OpRegistry& reg);
void register_conv2d_cuda(OpRegistry& reg);
void register_batch_norm_cuda(OpRegistry& reg);
void register_pool_cuda(OpRegistry& reg);
void register_linear_cuda(OpRegistry& reg);
void register_misc_cuda(OpRegistry& reg);
void register_fake_quant_cuda(OpRegistry& reg);

}  // namespace cuda

void register_cuda_kernels(OpRegistry& reg) {
  cuda::register_pointwise_cuda(reg);
  cuda::register_elementwise_cuda(reg);
  cuda::register_conv2d_cuda(reg);
  cuda::register_batch_norm_cuda(reg);
  cuda::register_pool_cuda(reg);
  cuda::register_linear_cuda(reg);
  cuda::register_misc_cuda(reg);
  cuda::register_fake_quant_cuda(reg);
}

}  // namespace qf
