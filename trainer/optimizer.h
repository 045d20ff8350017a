// SGD with momentum and L2 weight decay — PaddlePaddle's Momentum optimizer with an L2Decay
// regularizer, which is also PyTorch's SGD(momentum, weight_decay):
//   g = grad + weight_decay * decay_mult * p;  v = momentum * v + g;  p -= lr * lr_mult * v
// (nesterov: p -= lr * lr_mult * (g + momentum * v)). With clip_norm > 0 the gradients are first
// clipped to that global L2 norm, as Paddle's ClipGradByGlobalNorm (PyTorch's clip_grad_norm_)
// does: grad *= clip_norm / max(||grad||, clip_norm), the norm over every parameter and before the
// weight decay is added. Per-parameter lr_mult and decay_mult come from the graph (PACT's alpha
// trains with lr x 1000). The velocity lives in one arena laid out like the parameter arena, so
// the whole update is one fused pass.
#pragma once

#include <vector>

#include "io/safetensors.h"
#include "nn/param_store.h"

namespace qf {

struct OptimizerConfig {
  std::string type = "momentum";  // momentum (SGD with momentum)
  double lr = 0.01;               // base learning rate (the schedule scales it)
  double momentum = 0.9;
  double weight_decay = 0.0;      // L2 coefficient
  bool nesterov = false;
  double clip_norm = 0.0;         // global gradient-norm clip (0: off)
};

class SgdMomentum {
 public:
  SgdMomentum(ParamStore& store, const OptimizerConfig& config);
  // One update with learning rate `lr`; gradients are multiplied by `grad_scale` first (1/ranks
  // turns all-reduced sums into means).
  void step(double lr, float grad_scale = 1.f);
  // Velocity per parameter name, for checkpoints ("<name>.momentum").
  TensorMap state_dict() const;
  void load_state_dict(const TensorMap& state);
  // The velocity arena (laid out like the parameter arena; broadcast on a distributed resume).
  const Tensor& velocity() const { return velocity_; }

 private:
  ParamStore& store_;
  OptimizerConfig config_;
  Tensor velocity_;
  std::vector<SgdSegment> segments_;
};

}  // namespace qf
