// The BatchNorm folding formulas, written once for the training ops' CPU and CUDA kernels
// (bn_fold.cpp, bn_fold_cuda.cu) and the passes that fold for inference (quant/convert.cpp,
// quant/fuse_conv_bn.cpp). docs/quantization.md derives them.
//
//   k_c = gamma_c / sqrt(running_var_c + eps)            the factor that folds channel c
//   bn_fold_weight: w'[c, ...] = w[c, ...] * k_c;   dgamma_c = sum(dout * w)[c] / sqrt(var_c + eps)
//   bn_unscale:     u[..., c]  = y[..., c] / k_c;   dgamma_c = -sum(dout * y)[c] sqrt(var_c + eps)
//   / gamma_c^2
// T is float in the training ops and double where a pass folds for export (then rounded to float).
#pragma once

#include <cmath>

#include "nn/kernels/host_device.h"

namespace qf {

template <class T>
QF_HOST_DEVICE inline T bn_fold_factor(T gamma, T var, T eps) {
  return gamma / std::sqrt(var + eps);
}

// dgamma of channel c from acc = sum over the channel of dout * input.
template <class T>
QF_HOST_DEVICE inline T bn_fold_gamma_grad(T acc, T gamma, T var, T eps, bool weight) {
  const T sd = std::sqrt(var + eps);
  return weight ? acc / sd : -acc * sd / (gamma * gamma);
}

}  // namespace qf
