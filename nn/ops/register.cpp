// nn's list of ops: each op's folder registers its definition with its CPU kernels, then, in CUDA
// builds, nn/ops/register_cuda.cpp adds their CUDA kernels. The list of every built-in op (these
// and quant/ops') is assembled above nn, in launch/lib/builtin_ops.cpp.
#include "nn/op_registry.h"

namespace qf {

void register_activations(OpRegistry& reg);
void register_batch_norm(OpRegistry& reg);
void register_cast(OpRegistry& reg);
void register_concat(OpRegistry& reg);
void register_conv2d(OpRegistry& reg);
void register_dropout(OpRegistry& reg);
void register_elementwise(OpRegistry& reg);
void register_flatten(OpRegistry& reg);
void register_global_avg_pool(OpRegistry& reg);
void register_inverted_residual(OpRegistry& reg);
void register_linear(OpRegistry& reg);
void register_pool2d(OpRegistry& reg);
void register_reshape(OpRegistry& reg);
void register_slice(OpRegistry& reg);
void register_softmax_cross_entropy(OpRegistry& reg);
void register_transpose(OpRegistry& reg);
// nn/ops/register_cuda.cpp, or nn/kernels/cuda_stub/cuda_stub.cpp in builds without CUDA.
void register_nn_cuda_kernels(OpRegistry& reg);

void register_nn_ops(OpRegistry& reg) {
  register_conv2d(reg);
  register_activations(reg);
  register_batch_norm(reg);
  register_cast(reg);
  register_concat(reg);
  register_dropout(reg);
  register_elementwise(reg);
  register_flatten(reg);
  register_global_avg_pool(reg);
  register_inverted_residual(reg);
  register_linear(reg);
  register_pool2d(reg);
  register_reshape(reg);
  register_slice(reg);
  register_softmax_cross_entropy(reg);
  register_transpose(reg);
  register_nn_cuda_kernels(reg);
}

}  // namespace qf
