#include "quant/ops/register.h"

namespace qf {

void register_qdq_ops(OpRegistry& reg);
void register_dequantize_add(OpRegistry& reg);
void register_fake_quant_ops(OpRegistry& reg);
void register_pact(OpRegistry& reg);
void register_bn_fold_ops(OpRegistry& reg);
void register_qconv2d(OpRegistry& reg);
void register_qlinear(OpRegistry& reg);
// quant/ops/register_cuda.cpp, or quant/ops/cuda_stub/register_cuda_stub.cpp without CUDA.
void register_quant_cuda_kernels(OpRegistry& reg);

void register_quant_ops(OpRegistry& reg) {
  register_qdq_ops(reg);
  register_dequantize_add(reg);
  register_fake_quant_ops(reg);
  register_pact(reg);
  register_bn_fold_ops(reg);
  register_qconv2d(reg);
  register_qlinear(reg);
  register_quant_cuda_kernels(reg);
}

}  // namespace qf
