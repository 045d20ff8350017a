// register_nn_cuda_kernels: fills the cuda column of nn's ops, after every op is defined (CUDA
// builds only; nn/kernels/cuda_stub/cuda_stub.cpp stands in otherwise). An op without a line here
// has no CUDA kernel: tests/ops/coverage_test.cpp and docs/architecture.md list them.
#include "nn/op_registry.h"

namespace qf {
namespace cuda {

void register_activations_cuda(OpRegistry& reg);
void register_batch_norm_cuda(OpRegistry& reg);
void register_conv2d_cuda(OpRegistry& reg);
void register_dropout_cuda(OpRegistry& reg);
void register_elementwise_cuda(OpRegistry& reg);
void register_flatten_cuda(OpRegistry& reg);
void register_global_avg_pool_cuda(OpRegistry& reg);
void register_linear_cuda(OpRegistry& reg);
void register_pool2d_cuda(OpRegistry& reg);
void register_softmax_cross_entropy_cuda(OpRegistry& reg);

}  // namespace cuda

void register_nn_cuda_kernels(OpRegistry& reg) {
  cuda::register_activations_cuda(reg);
  cuda::register_batch_norm_cuda(reg);
  cuda::register_conv2d_cuda(reg);
  cuda::register_dropout_cuda(reg);
  cuda::register_elementwise_cuda(reg);
  cuda::register_flatten_cuda(reg);
  cuda::register_global_avg_pool_cuda(reg);
  cuda::register_linear_cuda(reg);
  cuda::register_pool2d_cuda(reg);
  cuda::register_softmax_cross_entropy_cuda(reg);
}

}  // namespace qf
