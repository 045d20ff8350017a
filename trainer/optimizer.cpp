#include "trainer/optimizer.h"

namespace qf {

SgdMomentum::SgdMomentum(ParamStore& store, const OptimizerConfig& config)
    : store_(store), config_(config) {
  DeviceContext& ctx = store.context();
  velocity_ = ctx.empty(store.param_arena().shape(), DType::f32);
  ctx.zero(velocity_);
  for (const ParamEntry& e : store.params())
    segments_.push_back({static_cast<int64_t>(e.offset / sizeof(float)),
                         static_cast<int64_t>(numel(e.shape)), e.lr_mult, e.decay_mult});
}

void SgdMomentum::step(double lr, float grad_scale) {
  SgdUpdate u{&store_.param_arena(),
              &store_.grad_arena(),
              &velocity_,
              segments_,
              static_cast<float>(lr),
              static_cast<float>(config_.momentum),
              static_cast<float>(config_.weight_decay),
              grad_scale,
              config_.nesterov,
              static_cast<float>(config_.clip_norm)};
  store_.context().sgd_momentum_update(u);
}

TensorMap SgdMomentum::state_dict() const {
  TensorMap r;
  for (const ParamEntry& e : store_.params()) {
    Tensor host = Tensor::empty(e.shape, DType::f32);
    store_.context().copy(host, velocity_.view(e.offset, e.shape, DType::f32));
    r[e.name + ".momentum"] = host;
  }
  return r;
}

void SgdMomentum::load_state_dict(const TensorMap& state) {
  for (const ParamEntry& e : store_.params()) {
    auto it = state.find(e.name + ".momentum");
    if (it == state.end())
      throw_input_error("optimizer state has no momentum for parameter '", e.name, "'");
    if (it->second.shape() != e.shape)
      throw_input_error("optimizer state '", e.name, ".momentum': expected shape ",
                        shape_str(e.shape), ", found ", shape_str(it->second.shape()));
  }
  for (const ParamEntry& e : store_.params())
    store_.context().copy(velocity_.view(e.offset, e.shape, DType::f32),
                          state.at(e.name + ".momentum"));
}

}  // namespace qf
