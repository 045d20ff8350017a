// batch_norm (torch.nn.BatchNorm2d / BatchNorm1d, ONNX BatchNormalization).
//   inputs: x (N, C, H, W) channels-last, or (N, C); gamma (C); beta (C);
//           running_mean (C), running_var (C) — state inputs, updated by the training forward
//   attrs:  epsilon (1e-5), momentum (0.1, PyTorch's convention), use_running_stats (0)
//   output: y, shaped like x
// With M = N*H*W values per channel:
//   training forward (use_running_stats 0):
//     mean = 1/M sum x,  var = 1/M sum (x - mean)^2   (biased, used to normalise)
//     y = gamma * (x - mean) / sqrt(var + eps) + beta
//     running_mean = (1 - m) * running_mean + m * mean
//     running_var  = (1 - m) * running_var  + m * var * M / (M - 1)   (unbiased, as PyTorch)
//     M == 1 is an InputError (no variance to estimate), as in PyTorch.
//   eval forward, and training forward with use_running_stats 1 (BN frozen during quant-aware
//   training): y = gamma * (x - running_mean) / sqrt(running_var + eps) + beta, statistics
//   untouched.
//
// Gradient contract (overwritten, each optional), xhat = (x - mean) * istd, istd = 1/sqrt(var+eps),
// with the statistics the last forward used:
//   dbeta  = sum dy,   dgamma = sum dy * xhat
//   dx     = gamma * istd * (dy - dbeta / M - xhat * dgamma / M)   with batch statistics
//   dx     = gamma * istd * dy                  with running statistics (constants)
// running_mean and running_var get no gradient.
#pragma once

#include "nn/op_registry.h"

namespace qf {

struct BnGeom {
  int64_t N, C, HW;  // M = N * HW values per channel; channel is the fastest axis in memory
  double epsilon, momentum;
  bool use_running_stats;
  int64_t count() const { return N * HW; }
};

// Validated geometry and attributes of a batch_norm node (InputError on misuse).
BnGeom bn_geom(const Node& node, std::span<const TensorDesc> in);

// The fast CPU kernels: oneDNN, OpenMP loops, and the one registered, which picks between them
// by channel count (measurements in nn/kernels/cpu/batch_norm_loops.cpp).
std::unique_ptr<Kernel> make_batch_norm_dnnl(const KernelSetup& s);
std::unique_ptr<Kernel> make_batch_norm_loops(const KernelSetup& s);
std::unique_ptr<Kernel> make_batch_norm_cpu(const KernelSetup& s);

void register_batch_norm(OpRegistry& reg);

}  // namespace qf
