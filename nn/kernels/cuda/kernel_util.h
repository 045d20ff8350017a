// Helpers for the backend's Kernel classes (the *_cuda.cpp files): the context, float pointers,
// device copies, and small device buffers a kernel owns from its creation on.
#pragma once

#include "nn/kernels/cuda/cuda_check.h"
#include "nn/kernels/cuda/cuda_context.h"
#include "nn/kernels/cuda/launch.h"
#include "nn/ops/op_util.h"

namespace qf::cuda {

inline const float* in_f32(const Tensor* t) {
  return t ? t->data<float>() : nullptr;
}
inline float* out_f32(const Tensor* t) {
  return t ? t->data<float>() : nullptr;
}

// The GPU kernels compute in float32 (the double-precision reference kernels are CPU-only).
inline void require_f32(const KernelSetup& s, std::initializer_list<int> inputs) {
  for (int i : inputs)
    if (i < static_cast<int>(s.in.size()) && !s.in[i].shape.empty())
      QF_CHECK(s.in[i].dtype == DType::f32, "CUDA kernel for '", s.node.op, "' (node '",
               s.node.name, "') needs float32 input ", i, ", got ", dtype_name(s.in[i].dtype));
}

// dst = src on the context's stream (no-op when they are the same memory).
inline void device_copy(CudaContext& ctx, const Tensor& dst, const Tensor& src) {
  if (dst.raw() == src.raw()) return;
  QF_CUDA_CHECK(
      cudaMemcpyAsync(dst.raw(), src.raw(), src.nbytes(), cudaMemcpyDeviceToDevice, ctx.stream()));
}

// A float buffer of `n` elements on the device, owned by a kernel (allocated at its creation).
inline Tensor device_floats(CudaContext& ctx, int64_t n) {
  return ctx.empty({std::max<int64_t>(n, 1)}, DType::f32);
}

}  // namespace qf::cuda
