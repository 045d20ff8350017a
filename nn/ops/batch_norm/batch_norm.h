// batch_norm (torch.nn.BatchNorm2d / BatchNorm1d, ONNX BatchNormalization).
//   inputs: x (N, C, H, W) channels-last, or (N, C); gamma (C); beta (C);
//           running_mean (C), running_var (C) — state inputs, updated by the training forward
//   attrs:  epsilon (1e-5), momentum (0.1, PyTorch's convention), use_running_stats (0),
//           sync (0; 1: SyncBatchNorm, statistics over every rank's samples — see below)
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
//
// SyncBatchNorm (attr sync 1, a training kernel given a communicator of several ranks, batch
// statistics): M, the sums and therefore mean and var are over all ranks' values — every rank
// normalises with the statistics one process would compute from the whole global batch, and the
// running variance is unbiased with the global count, var * M / (M - 1). The forward sums
// sum x (with the count) and then sum (x - mean)^2 across ranks (two small all-reduces in double;
// the two-pass form keeps the precision of the single-process kernels). Backward sums
// sum dy and sum dy * xhat across ranks for dx (with the global M), while dgamma and dbeta stay
// this rank's sums: the gradient all-reduce adds them up like every other parameter gradient.
// With the loss averaged per rank and gradients summed then divided by the rank count, this is
// exactly the gradient of one process over the global batch. Frozen statistics
// (use_running_stats) and eval mode never communicate.
#pragma once

#include "nn/op_registry.h"

namespace qf {

struct BnGeom {
  int64_t N, C, HW;  // M = N * HW values per channel; channel is the fastest axis in memory
  double epsilon, momentum;
  bool use_running_stats;
  bool sync;  // attr sync: SyncBatchNorm when trained on several ranks
  int64_t count() const { return N * HW; }
};

// Validated geometry and attributes of a batch_norm node (InputError on misuse).
BnGeom bn_geom(const Node& node, std::span<const TensorDesc> in);

// The communicator a batch_norm kernel sums its batch statistics over: the setup's, when the node
// is marked sync, the kernel trains with batch statistics and there are several ranks; else null.
Communicator* bn_sync_comm(const KernelSetup& s, const BnGeom& g);

// Marks every batch_norm node of `g` sync (dist.sync_bn). Returns how many there are.
int mark_sync_batch_norm(Graph& g);

// The fast CPU kernels: oneDNN, OpenMP loops, and the one registered, which picks between them
// by channel count (measurements in nn/ops/batch_norm/batch_norm_cpu_loops.cpp).
std::unique_ptr<Kernel> make_batch_norm_dnnl(const KernelSetup& s);
std::unique_ptr<Kernel> make_batch_norm_loops(const KernelSetup& s);
std::unique_ptr<Kernel> make_batch_norm_cpu(const KernelSetup& s);

void register_batch_norm(OpRegistry& reg);

}  // namespace qf
