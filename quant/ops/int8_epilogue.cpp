#include "quant/ops/int8_epilogue.h"

namespace qf {

DType int8_out_dtype(const Node& node) {
  const std::string t = node.attrs.get_string("out_dtype", "f32");
  if (t == "f32") return DType::f32;
  if (t == "i8") return DType::i8;
  if (t == "u8") return DType::u8;
  shape_error(node, str_cat("out_dtype '", t, "' is not allowed (allowed: f32, i8, u8)"));
}

Int8Epilogue Int8Epilogue::of(const Node& node, int64_t K) {
  Int8Epilogue e;
  if (!node.attrs.has("scales")) shape_error(node, "attribute scales is required");
  for (double s : node.attrs.get_floats("scales")) e.scales.push_back(static_cast<float>(s));
  if (e.scales.size() != 1 && static_cast<int64_t>(e.scales.size()) != K)
    shape_error(node, str_cat("scales has ", e.scales.size(), " values, expected 1 or ", K));
  for (float s : e.scales)
    if (!(s > 0) || !std::isfinite(s)) shape_error(node, str_cat("scale ", s, " is not a positive number"));
  e.out = int8_out_dtype(node);
  e.round_clip = node.attrs.get_int("round_clip", 0) != 0;
  e.qmin = static_cast<float>(node.attrs.get_float("qmin", -128));
  e.qmax = static_cast<float>(node.attrs.get_float("qmax", 127));
  const std::string act = node.attrs.get_string("act", "none");
  if (act == "relu")
    e.act = Act::relu;
  else if (act == "clip")
    e.act = Act::clip;
  else if (act != "none")
    shape_error(node, str_cat("act '", act, "' is not allowed (allowed: none, relu, clip)"));
  e.act_min = static_cast<float>(node.attrs.get_float("act_min", 0));
  e.act_max = static_cast<float>(node.attrs.get_float("act_max", 0));
  if (e.act == Act::clip && !(e.act_min <= e.act_max))
    shape_error(node, "act_min must not exceed act_max");
  e.post_scale = static_cast<float>(node.attrs.get_float("post_scale", 1));
  if (!(e.post_scale > 0)) shape_error(node, "post_scale must be positive");
  e.out_max = static_cast<float>(node.attrs.get_float("out_max", e.out_max));
  // One clamp serves both the activation and out_max (positive scaling is monotone), so the
  // oneDNN post-op chain holds each eltwise algorithm at most once: oneDNN 2.6's JIT injectors
  // share one set of constants per algorithm, and a second clip or linear silently reuses the
  // first one's bounds (measured: clip(-128, 127) then clip(0, 90) clamps to [-128, 127]).
  if (std::isfinite(e.out_max) && e.act != Act::none) {
    if (e.act == Act::relu) {
      e.act = Act::clip;
      e.act_min = 0;
      e.act_max = std::numeric_limits<float>::infinity();
    }
    e.act_max = std::fmin(e.act_max, e.out_max / e.post_scale);
    e.out_max = std::numeric_limits<float>::infinity();
  }
  return e;
}

dnnl::primitive_attr Int8Epilogue::dnnl_attr(int scale_mask) const {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  attr.set_output_scales(scales.size() == 1 ? 0 : scale_mask, scales);
  dnnl::post_ops po;
  using alg = dnnl::algorithm;
  if (round_clip) {  // clip_v2 computes the same forward as clip; see Int8Epilogue::of
    po.append_eltwise(1.f, alg::eltwise_round, 0.f, 0.f);
    po.append_eltwise(1.f, alg::eltwise_clip_v2, qmin, qmax);
  }
  if (act == Act::relu) po.append_eltwise(1.f, alg::eltwise_relu, 0.f, 0.f);
  if (act == Act::clip) po.append_eltwise(1.f, alg::eltwise_clip, act_min, act_max);
  if (post_scale != 1.f) po.append_eltwise(1.f, alg::eltwise_linear, post_scale, 0.f);
  if (std::isfinite(out_max))
    po.append_eltwise(1.f, alg::eltwise_clip, -std::numeric_limits<float>::max(), out_max);
  attr.set_post_ops(po);
  return attr;
}

}  // namespace qf
