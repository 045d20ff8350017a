// inverted_residual on oneDNN, strip by strip (nn/ops/inverted_residual/inverted_residual.h).
//
// The output rows of one image are cut into strips whose expanded input (the depthwise
// convolution's input rows, halo included, all E channels) fits in about 1.25 MiB. For a strip:
// the expansion runs on the x rows it needs (NHWC: a contiguous slice of the image), the depthwise
// convolution on that, with the padding of the strip's place in the image, and the projection
// writes the strip's output rows (again a contiguous slice), adding the residual as a sum
// post-op. Expanded and depthwise results stay in per-thread buffers of the workspace.
// When the strips (batch x strips per image) spread evenly over the threads, each thread takes
// whole strips and runs the primitives on its own (oneDNN runs a primitive on the calling thread
// alone inside a parallel region), so nothing waits at a barrier between the three; otherwise
// (batch 1 and a small image) each image is one strip and every primitive runs on all threads.
// MobileNetV2 at 224x224, batch 16, 2 threads: 35.5 ms per batch against 42.2 ms with the three
// convolutions apart (qforge bench --fuse-blocks true|false; bench/RESULTS.md); 1 % at batch 1.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <tuple>

#include "nn/kernels/cpu/dnnl_util.h"
#include "nn/ops/conv2d/conv2d_dnnl.h"
#include "nn/ops/inverted_residual/inverted_residual.h"

namespace qf {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using Pd = dnnl::convolution_forward::primitive_desc;

constexpr int64_t kStripBytes = int64_t{5} << 18;  // 1.25 MiB of expanded rows per strip

size_t round_up(size_t bytes) { return (bytes + 63) / 64 * 64; }

// One strip of output rows [out0, out1) and the expanded rows [in0, in1) it reads.
struct Strip {
  int64_t out0, out1, in0, in1;
  int variant;  // index into the primitives made for this strip shape
};

// The three primitives for one strip shape (strips of equal rows and padding share them).
struct Variant {
  Pd pd[3];
  dnnl::convolution_forward prim[3];
};

class InvertedResidualDnnl final : public Kernel {
 public:
  explicit InvertedResidualDnnl(const KernelSetup& s)
      : h_(dnnl_of(s.ctx)), b_(inverted_residual_of(s.node, s.in)) {
    QF_CHECK(!s.training, "inverted_residual '", s.node.name, "' is an inference-only op");
    residual_ = conv_epilogue(b_.project).residual;
    constant_w_ = ((s.constant_inputs >> kIrExpandW) & (s.constant_inputs >> kIrDepthwiseW) &
                   (s.constant_inputs >> kIrProjectW) & 1u) != 0;
    for (int k = 0; k < 3; ++k) has_bias_[k] = s.node.inputs[kIrExpandB + 2 * k] >= 0;
    const int64_t fit = strips_that_fit();
    threads_ = omp_get_max_threads();
    const int64_t items = b_.p.N * fit;  // whole strips per thread when they spread evenly
    per_thread_ = items >= threads_ && (items % threads_ == 0 || items >= 4 * threads_);
    if (!per_thread_) threads_ = 1;  // one set of buffers; the primitives use every thread
    plan_strips(per_thread_ ? fit : 1);
    plan_buffers();
    for (int k = 0; k < 3; ++k) prepare_weights(k);
  }

  size_t workspace_bytes() const override { return per_thread_bytes_ * threads_; }

  void forward(const ForwardCall& c) override {
    const memory w[3] = {weights(0, *c.in[kIrExpandW]), weights(1, *c.in[kIrDepthwiseW]),
                         weights(2, *c.in[kIrProjectW])};
    w_ready_ = true;
    const int64_t n_strips = static_cast<int64_t>(strips_.size());
    const int64_t items = b_.p.N * n_strips;
    if (per_thread_) {
#pragma omp parallel for schedule(static) num_threads(threads_)
      for (int64_t i = 0; i < items; ++i)
        run_strip(c, w, i / n_strips, strips_[i % n_strips], omp_get_thread_num());
    } else {
      for (int64_t i = 0; i < items; ++i) run_strip(c, w, i / n_strips, strips_[i % n_strips], 0);
    }
  }

 private:
  // How many strips per image keep each one's expanded rows within kStripBytes.
  int64_t strips_that_fit() const {
    const ConvGeom& d = b_.d;
    const int64_t row_bytes = b_.e.W * b_.e.K * int64_t{sizeof(float)};
    const int64_t rows_fit = std::max(d.R, kStripBytes / row_bytes);
    const int64_t most = std::clamp((rows_fit - d.R) / d.sh + 1, int64_t{1}, d.OH);
    return (d.OH + most - 1) / most;
  }

  // `count` strips of equal height (the last may be shorter) and one Variant per distinct shape.
  void plan_strips(int64_t count) {
    const ConvGeom& d = b_.d;
    rows_per_strip_ = (d.OH + count - 1) / count;
    std::map<std::tuple<int64_t, int64_t, int64_t, int64_t>, int> shapes;
    for (int64_t o0 = 0; o0 < d.OH; o0 += rows_per_strip_) {
      const int64_t o1 = std::min(d.OH, o0 + rows_per_strip_);
      const int64_t first = o0 * d.sh - d.pt, last = (o1 - 1) * d.sh - d.pt + d.R - 1;
      const int64_t in0 = std::max<int64_t>(first, 0), in1 = std::min(last, d.H - 1) + 1;
      const auto key = std::make_tuple(in1 - in0, in0 - first, last + 1 - in1, o1 - o0);
      auto [it, added] = shapes.emplace(key, static_cast<int>(variants_.size()));
      if (added) variants_.push_back(make_variant(in1 - in0, in0 - first, last + 1 - in1, o1 - o0));
      strips_.push_back({o0, o1, in0, in1, it->second});
      max_rows_in_ = std::max(max_rows_in_, in1 - in0);
    }
  }

  // Per thread, in the workspace: the expanded rows, the depthwise result, the primitives' scratch.
  void plan_buffers() {
    for (int t = 0; t < threads_; ++t) streams_.emplace_back(h_.engine);
    size_t scratch = 0;
    for (const Variant& v : variants_)
      for (const Pd& pd : v.pd) scratch = std::max(scratch, pd.scratchpad_desc().get_size());
    expanded_bytes_ = round_up(max_rows_in_ * b_.e.W * b_.e.K * sizeof(float));
    depthwise_bytes_ = round_up(rows_per_strip_ * b_.d.OW * b_.d.K * sizeof(float));
    per_thread_bytes_ = expanded_bytes_ + depthwise_bytes_ + round_up(scratch);
  }

  Variant make_variant(int64_t rows_in, int64_t pad_top, int64_t pad_bottom, int64_t rows_out) {
    const ConvGeom &e = b_.e, &d = b_.d, &p = b_.p;
    Variant v;
    v.pd[0] = stage_pd(0, {1, e.C, rows_in, e.W}, {1, e.K, rows_in, e.W}, 0, 0);
    v.pd[1] = stage_pd(1, {1, d.C, rows_in, d.W}, {1, d.K, rows_out, d.OW}, pad_top, pad_bottom);
    v.pd[2] = stage_pd(2, {1, p.C, rows_out, p.W}, {1, p.K, rows_out, p.OW}, 0, 0);
    for (int k = 0; k < 3; ++k) v.prim[k] = dnnl::convolution_forward(v.pd[k]);
    return v;
  }

  Pd stage_pd(int k, const Shape& x, const Shape& y, int64_t pad_top, int64_t pad_bottom) {
    const ConvGeom& g = geom(k);
    const Node& n = stage(k);
    const auto pads = n.attrs.get_ints("pads", {0, 0, 0, 0});
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const ConvEpilogue e = conv_epilogue(n);
    if (e.any()) attr.set_post_ops(conv_post_ops(e));
    const memory::desc wany(weight_dims(k), memory::data_type::f32, tag::any);
    const memory::desc bias = has_bias_[k] ? plain_desc({g.K}) : memory::desc();
    return Pd({dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
               nhwc_desc(x), wany, bias, nhwc_desc(y), {g.sh, g.sw}, {0, 0},
               {pad_top, pads[1]}, {pad_bottom, pads[3]}},
              attr, h_.engine);
  }

  memory::dims weight_dims(int k) const {
    const ConvGeom& g = geom(k);
    if (g.groups > 1) return {g.groups, g.K / g.groups, g.C / g.groups, g.R, g.S};
    return {g.K, g.C, g.R, g.S};
  }
  const ConvGeom& geom(int k) const { return k == 0 ? b_.e : k == 1 ? b_.d : b_.p; }
  const Node& stage(int k) const { return k == 0 ? b_.expand : k == 1 ? b_.depthwise : b_.project; }

  // Stage k's weights as each variant's primitive reads them: buffers for the layouts that differ
  // from the tensor's own (variants of one stage almost always agree).
  void prepare_weights(int k) {
    user_w_[k] = memory::desc(weight_dims(k), memory::data_type::f32,
                              geom(k).groups > 1 ? tag::goihw : tag::oihw);
    for (const Variant& v : variants_) {
      const memory::desc want = v.pd[k].weights_desc();
      if (want == user_w_[k] || packed(k, want)) continue;
      packed_w_[k].emplace_back(want, memory(want, h_.engine));
    }
  }

  // Reorders stage k's weights into every packed layout (once when they never change) and returns
  // the tensor as oneDNN memory.
  memory weights(int k, const Tensor& t) {
    memory user(user_w_[k], h_.engine, t.raw());
    if (constant_w_ && w_ready_) return user;
    for (auto& [desc, buf] : packed_w_[k]) dnnl::reorder(user, buf).execute(h_.stream, user, buf);
    h_.stream.wait();
    return user;
  }
  const memory* packed(int k, const memory::desc& want) const {
    for (const auto& [desc, buf] : packed_w_[k])
      if (desc == want) return &buf;
    return nullptr;
  }
  memory weights_for(int k, const memory& user, const Pd& pd) const {
    const memory::desc want = pd.weights_desc();
    return want == user_w_[k] ? user : *packed(k, want);
  }

  void run_strip(const ForwardCall& c, const memory (&w)[3], int64_t n, const Strip& s, int t) {
    const ConvGeom &e = b_.e, &p = b_.p;
    char* ws = static_cast<char*>(c.workspace) + t * per_thread_bytes_;
    float* expanded = reinterpret_cast<float*>(ws);
    float* depthwise = reinterpret_cast<float*>(ws + expanded_bytes_);
    void* scratch = ws + expanded_bytes_ + depthwise_bytes_;
    const float* x = c.in[kIrX]->data<float>() + (n * e.H + s.in0) * e.W * e.C;
    float* y = c.out[0]->data<float>() + (n * p.OH + s.out0) * p.OW * p.K;
    if (residual_) {  // the sum post-op adds what the output holds
      const float* r = c.in[kIrResidual]->data<float>() + (n * p.OH + s.out0) * p.OW * p.K;
      if (r != y) std::memcpy(y, r, (s.out1 - s.out0) * p.OW * p.K * sizeof(float));
    }
    const Variant& v = variants_[s.variant];
    const void* src[3] = {x, expanded, depthwise};
    void* dst[3] = {expanded, depthwise, y};
    dnnl::stream& st = streams_[t];
    for (int k = 0; k < 3; ++k) {
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, memory(v.pd[k].src_desc(), h_.engine, const_cast<void*>(src[k]))},
          {DNNL_ARG_WEIGHTS, weights_for(k, w[k], v.pd[k])},
          {DNNL_ARG_DST, memory(v.pd[k].dst_desc(), h_.engine, dst[k])},
          {DNNL_ARG_SCRATCHPAD, memory(v.pd[k].scratchpad_desc(), h_.engine, scratch)}};
      if (has_bias_[k])
        args[DNNL_ARG_BIAS] = as_memory(v.pd[k].bias_desc(), h_, *c.in[kIrExpandB + 2 * k]);
      v.prim[k].execute(st, args);
    }
    st.wait();
  }

  DnnlHandles& h_;
  InvertedResidual b_;
  bool residual_ = false, constant_w_ = false, w_ready_ = false;
  bool has_bias_[3] = {false, false, false};
  std::vector<Strip> strips_;
  std::vector<Variant> variants_;
  int64_t rows_per_strip_ = 1, max_rows_in_ = 1;
  bool per_thread_ = false;  // whole strips per thread, each primitive on its thread alone
  int threads_ = 1;
  std::vector<dnnl::stream> streams_;
  size_t expanded_bytes_ = 0, depthwise_bytes_ = 0, per_thread_bytes_ = 0;
  memory::desc user_w_[3];
  std::vector<std::pair<memory::desc, memory>> packed_w_[3];  // per stage: layout, weights
};

}  // namespace

std::unique_ptr<Kernel> make_inverted_residual_dnnl(const KernelSetup& s) {
  return std::make_unique<InvertedResidualDnnl>(s);
}

}  // namespace qf
