#include "nn/param_store.h"

#include <cmath>
#include <random>

namespace qf {
namespace {

constexpr size_t kAlign = 64;  // bytes; every view starts on a cache line

size_t align_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

uint64_t hash_name(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;  // FNV-1a
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

int64_t receptive_field(const Shape& s) {
  int64_t r = 1;
  for (size_t i = 2; i < s.size(); ++i) r *= s[i];
  return r;
}

}  // namespace

void initialize(const Tensor& t, const Init& init, const std::string& name, uint64_t seed) {
  QF_CHECK(t.device().is_cpu(), "initialize needs a host tensor");
  if (init.kind == Init::Kind::data) {
    QF_CHECK(init.data.defined() && init.data.numel() == t.numel() && init.data.dtype() == t.dtype(),
             "initial data for '", name, "' does not match its value");
    t.copy_from(init.data);
    return;
  }
  QF_CHECK(t.dtype() == DType::f32 || init.kind == Init::Kind::zeros, "value '", name,
           "' of type ", dtype_name(t.dtype()), " can only start at zero or from data");
  if (init.kind == Init::Kind::zeros) {
    std::memset(t.raw(), 0, t.nbytes());
    return;
  }
  float* p = t.data<float>();
  const int64_t n = t.numel();
  std::mt19937_64 gen(hash_name(name, seed));
  switch (init.kind) {
    case Init::Kind::ones: std::fill_n(p, n, 1.f); break;
    case Init::Kind::constant: std::fill_n(p, n, static_cast<float>(init.a)); break;
    case Init::Kind::normal: {
      std::normal_distribution<double> d(init.a, init.b);
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(d(gen));
      break;
    }
    case Init::Kind::uniform: {
      std::uniform_real_distribution<double> d(init.a, init.b);
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(d(gen));
      break;
    }
    case Init::Kind::kaiming_normal_fan_out: {
      const double fan_out = static_cast<double>(t.dim(0) * receptive_field(t.shape()));
      std::normal_distribution<double> d(0.0, std::sqrt(2.0 / fan_out));
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(d(gen));
      break;
    }
    case Init::Kind::kaiming_uniform_fan_in: {
      const double bound = 1.0 / std::sqrt(init.a);
      std::uniform_real_distribution<double> d(-bound, bound);
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(d(gen));
      break;
    }
    case Init::Kind::msra_uniform_fan_in: {
      const double fan_in = static_cast<double>(t.dim(1) * receptive_field(t.shape()));
      const double bound = std::sqrt(6.0 / fan_in);
      std::uniform_real_distribution<double> d(-bound, bound);
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(d(gen));
      break;
    }
    default: QF_CHECK(false, "unhandled initialiser");
  }
}

ParamStore::ParamStore(const Graph& graph, DeviceContext& ctx, uint64_t seed) : ctx_(&ctx) {
  size_t param_bytes = 0;
  std::map<DType, size_t> buffer_bytes;
  for (const Value& v : graph.values()) {
    if (v.kind != ValueKind::param && v.kind != ValueKind::buffer) continue;
    ParamEntry e;
    e.name = v.name;
    e.kind = v.kind;
    e.shape = v.shape;
    e.dtype = v.dtype;
    e.lr_mult = v.lr_mult;
    e.decay_mult = v.decay_mult;
    const size_t bytes = static_cast<size_t>(numel(v.shape)) * dtype_size(v.dtype);
    if (v.kind == ValueKind::param) {
      QF_CHECK(v.dtype == DType::f32, "parameter '", v.name, "' must be float32");
      e.offset = param_bytes;
      param_bytes += align_up(bytes);
      index_[v.name] = {true, params_.size()};
      order_.push_back(index_[v.name]);
      params_.push_back(std::move(e));
    } else {
      e.offset = buffer_bytes[v.dtype];
      buffer_bytes[v.dtype] += align_up(bytes);
      index_[v.name] = {false, buffers_.size()};
      order_.push_back(index_[v.name]);
      buffers_.push_back(std::move(e));
    }
  }
  // Arenas are sized in elements so that they can be handed to collectives as one f32 range.
  param_arena_ = ctx.empty({static_cast<int64_t>(param_bytes / 4)}, DType::f32);
  grad_arena_ = ctx.empty({static_cast<int64_t>(param_bytes / 4)}, DType::f32);
  ctx.zero(param_arena_);  // padding between views stays zero
  ctx.zero(grad_arena_);
  for (auto& [dt, bytes] : buffer_bytes) {
    Tensor a = ctx.empty({static_cast<int64_t>(bytes / dtype_size(dt))}, dt);
    ctx.zero(a);
    buffer_arenas_[dt] = a;
  }
  auto materialise = [&](ParamEntry& e, const Tensor& arena, const Value& v) {
    e.data = arena.view(e.offset, e.shape, e.dtype);
    Tensor host = Tensor::empty(e.shape, e.dtype);
    initialize(host, v.init, v.name, seed);
    ctx.copy(e.data, host);
  };
  for (ParamEntry& e : params_) {
    materialise(e, param_arena_, graph.value(graph.value_id(e.name)));
    e.grad = grad_arena_.view(e.offset, e.shape, e.dtype);
  }
  for (ParamEntry& e : buffers_)
    materialise(e, buffer_arenas_.at(e.dtype), graph.value(graph.value_id(e.name)));
}

const ParamEntry* ParamStore::find(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) return nullptr;
  return it->second.first ? &params_[it->second.second] : &buffers_[it->second.second];
}

std::vector<const ParamEntry*> ParamStore::entries() const {
  std::vector<const ParamEntry*> r;
  for (const auto& [is_param, i] : order_) r.push_back(is_param ? &params_[i] : &buffers_[i]);
  return r;
}

std::map<std::string, Tensor> ParamStore::state_dict() const {
  std::map<std::string, Tensor> r;
  for (const auto* list : {&params_, &buffers_})
    for (const ParamEntry& e : *list) {
      Tensor host = Tensor::empty(e.shape, e.dtype);
      ctx_->copy(host, e.data);
      r[e.name] = host;
    }
  return r;
}

ParamStore::LoadReport ParamStore::load_state_dict(const std::map<std::string, Tensor>& state) {
  LoadReport report;
  for (const auto* list : {&params_, &buffers_})
    for (const ParamEntry& e : *list) {
      auto it = state.find(e.name);
      if (it == state.end()) {
        report.missing.push_back(e.name);
        continue;
      }
      const Tensor& t = it->second;
      if (t.shape() != e.shape)
        throw_input_error("tensor '", e.name, "': expected shape ", shape_str(e.shape),
                          ", found ", shape_str(t.shape()));
      if (t.dtype() != e.dtype)
        throw_input_error("tensor '", e.name, "': expected ", dtype_name(e.dtype), ", found ",
                          dtype_name(t.dtype()));
    }
  for (const auto& [name, t] : state) {
    const ParamEntry* e = find(name);
    if (e)
      ctx_->copy(e->data, t);
    else
      report.unused.push_back(name);
  }
  return report;
}

}  // namespace qf
