// Helpers shared by op definitions.
#pragma once

#include <utility>

#include "nn/context.h"
#include "nn/op_registry.h"

namespace qf {

// Calls f(T{}) with T = float or double to match `t` — reference kernels run in both precisions
// (double for gradient checks).
template <class F>
void dispatch_real(DType t, F&& f) {
  if (t == DType::f32)
    f(float{});
  else if (t == DType::f64)
    f(double{});
  else
    QF_CHECK(false, "reference kernel needs float32 or float64 data, got ", dtype_name(t));
}

template <class T>
const T* ptr(const Tensor* t) {
  return t ? t->data<T>() : nullptr;
}
template <class T>
T* mut_ptr(const Tensor* t) {
  return t ? t->data<T>() : nullptr;
}

// Makes a factory for a kernel class constructible from a KernelSetup.
template <class K>
std::unique_ptr<Kernel> make_kernel(const KernelSetup& s) {
  return std::make_unique<K>(s);
}

// Shape inference for ops whose single output looks like input 0.
inline std::vector<TensorDesc> same_as_input0(const Node&, std::span<const TensorDesc> in) {
  return {in[0]};
}

}  // namespace qf
