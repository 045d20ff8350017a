// oneDNN plumbing shared by the CPU kernels: the engine and stream a CpuContext owns, and helpers to
// describe qforge tensors (channels-last activations, canonical weights) as oneDNN memory.
#pragma once

#include <dnnl.hpp>

#include "nn/context.h"
#include "nn/tensor.h"

namespace qf {

struct DnnlHandles {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};

inline DnnlHandles& dnnl_of(DeviceContext& ctx) {
  auto* cpu = dynamic_cast<CpuContext*>(&ctx);
  QF_CHECK(cpu, "a oneDNN kernel needs a CPU context");
  return cpu->dnnl();
}

inline dnnl::memory::dims to_dims(const Shape& s) { return dnnl::memory::dims(s.begin(), s.end()); }

// A (N, C, H, W) activation stored channels-last.
inline dnnl::memory::desc nhwc_desc(const Shape& s,
                                    dnnl::memory::data_type t = dnnl::memory::data_type::f32) {
  return dnnl::memory::desc(to_dims(s), t, dnnl::memory::format_tag::nhwc);
}

inline dnnl::memory::desc plain_desc(const Shape& s,
                                     dnnl::memory::data_type t = dnnl::memory::data_type::f32) {
  using tag = dnnl::memory::format_tag;
  static const tag tags[] = {tag::undef, tag::a, tag::ab, tag::abc, tag::abcd, tag::abcde};
  QF_CHECK(s.size() >= 1 && s.size() <= 5, "unsupported rank for a oneDNN descriptor");
  return dnnl::memory::desc(to_dims(s), t, tags[s.size()]);
}

inline dnnl::memory as_memory(const dnnl::memory::desc& d, DnnlHandles& h, const Tensor& t) {
  return dnnl::memory(d, h.engine, t.raw());
}

}  // namespace qf
