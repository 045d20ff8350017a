// batch_norm on oneDNN (math in nn/ops/batch_norm/batch_norm.h): batch_normalization forward and
// backward on channels-last memory, gamma and beta passed as separate scale and shift (use_scale |
// use_shift), use_global_stats for eval mode and for frozen statistics. Which CPU kernel runs for a
// node — this one or the OpenMP loops — is decided in nn/ops/batch_norm/batch_norm_cpu_loops.cpp.
//
// The kernel keeps the statistics of the last forward (batch mean and biased variance, or a copy of
// the running ones) in memory of its own, allocated at creation; oneDNN's backward reads them, with
// the batch-statistics primitive after a training forward and the constant-statistics one
// otherwise. The running-statistics update is a loop over channels after the forward primitive.
#include <cmath>

#include "nn/kernels/cpu/dnnl_util.h"
#include "nn/ops/batch_norm/batch_norm.h"

namespace qf {
namespace {

using dnnl::memory;
using flags = dnnl::normalization_flags;

class BatchNormDnnl final : public Kernel {
 public:
  explicit BatchNormDnnl(const KernelSetup& s)
      : h_(dnnl_of(s.ctx)), name_(s.node.name), g_(bn_geom(s.node, s.in)) {
    const memory::desc data = nhwc_desc({g_.N, g_.C, g_.HW, 1});  // (N, C) is (N, C, 1, 1)
    const float eps = static_cast<float>(g_.epsilon);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const flags affine = flags::use_scale | flags::use_shift;
    const flags global = affine | flags::use_global_stats;
    using fwd = dnnl::batch_normalization_forward;
    using bwd = dnnl::batch_normalization_backward;
    eval_pd_ = fwd::primitive_desc({dnnl::prop_kind::forward_inference, data, eps, global}, attr,
                                   h_.engine);
    eval_ = fwd(eval_pd_);
    ws_ = eval_pd_.scratchpad_desc().get_size();
    if (!s.training) return;
    train_pd_ = fwd::primitive_desc(
        {dnnl::prop_kind::forward_training, data, eps, g_.use_running_stats ? global : affine},
        attr, h_.engine);
    train_ = fwd(train_pd_);
    const fwd::primitive_desc global_fwd_pd({dnnl::prop_kind::forward_training, data, eps, global},
                                            attr, h_.engine);
    bwd_batch_pd_ = bwd::primitive_desc({dnnl::prop_kind::backward, data, data, eps, affine}, attr,
                                        h_.engine, train_pd_);
    bwd_const_pd_ = bwd::primitive_desc({dnnl::prop_kind::backward, data, data, eps, global}, attr,
                                        h_.engine, global_fwd_pd);
    bwd_batch_ = bwd(bwd_batch_pd_);
    bwd_const_ = bwd(bwd_const_pd_);
    ws_ = std::max({ws_, train_pd_.scratchpad_desc().get_size(),
                    bwd_batch_pd_.scratchpad_desc().get_size(),
                    bwd_const_pd_.scratchpad_desc().get_size()});
    const memory::desc vec = plain_desc({g_.C});
    mean_ = memory(vec, h_.engine);
    var_ = memory(vec, h_.engine);
    dgamma_sink_ = memory(vec, h_.engine);
    dbeta_sink_ = memory(vec, h_.engine);
  }

  size_t workspace_bytes() const override { return ws_; }

  void forward(const ForwardCall& c) override {
    const memory::desc vec = plain_desc({g_.C});
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, as_memory(eval_pd_.src_desc(), h_, *c.in[0])},
        {DNNL_ARG_DST, as_memory(eval_pd_.dst_desc(), h_, *c.out[0])},
        {DNNL_ARG_SCALE, as_memory(vec, h_, *c.in[1])},
        {DNNL_ARG_SHIFT, as_memory(vec, h_, *c.in[2])}};
    batch_ = c.mode == Mode::train && !g_.use_running_stats;
    const int64_t M = g_.count();
    if (batch_ && M < 2)
      throw_input_error("node '", name_, "' (batch_norm): training needs more than one value per ",
                        "channel, input has ", M);
    if (!batch_ && mean_) {  // keep what backward will treat as constants
      std::copy_n(c.in[3]->data<float>(), g_.C, static_cast<float*>(mean_.get_data_handle()));
      std::copy_n(c.in[4]->data<float>(), g_.C, static_cast<float*>(var_.get_data_handle()));
    }
    if (c.mode == Mode::eval) {
      args[DNNL_ARG_MEAN] = as_memory(vec, h_, *c.in[3]);
      args[DNNL_ARG_VARIANCE] = as_memory(vec, h_, *c.in[4]);
      args[DNNL_ARG_SCRATCHPAD] = memory(eval_pd_.scratchpad_desc(), h_.engine, c.workspace);
      eval_.execute(h_.stream, args);
      h_.stream.wait();
      return;
    }
    QF_CHECK(train_, "batch_norm: train-mode forward on a kernel created for inference");
    args[DNNL_ARG_MEAN] = mean_;
    args[DNNL_ARG_VARIANCE] = var_;
    args[DNNL_ARG_SCRATCHPAD] = memory(train_pd_.scratchpad_desc(), h_.engine, c.workspace);
    train_.execute(h_.stream, args);
    h_.stream.wait();
    if (!batch_) return;
    const float* mean = static_cast<const float*>(mean_.get_data_handle());
    const float* var = static_cast<const float*>(var_.get_data_handle());
    float* rm = c.in[3]->data<float>();
    float* rv = c.in[4]->data<float>();
    const double m = g_.momentum, unbias = static_cast<double>(M) / static_cast<double>(M - 1);
    for (int64_t ch = 0; ch < g_.C; ++ch) {
      rm[ch] = static_cast<float>((1 - m) * rm[ch] + m * mean[ch]);
      rv[ch] = static_cast<float>((1 - m) * rv[ch] + m * var[ch] * unbias);
    }
  }

  void backward(const BackwardCall& c) override {
    QF_CHECK(mean_, "batch_norm backward on a kernel created for inference");
    const memory::desc vec = plain_desc({g_.C});
    if (!c.grad_in[0]) {
      if (c.grad_in[1] || c.grad_in[2]) affine_grads(c);
      return;
    }
    const auto& pd = batch_ ? bwd_batch_pd_ : bwd_const_pd_;
    (batch_ ? bwd_batch_ : bwd_const_)
        .execute(
            h_.stream,
            {{DNNL_ARG_SRC, as_memory(pd.src_desc(), h_, *c.in[0])},
             {DNNL_ARG_MEAN, mean_},
             {DNNL_ARG_VARIANCE, var_},
             {DNNL_ARG_DIFF_DST, as_memory(pd.diff_dst_desc(), h_, *c.grad_out[0])},
             {DNNL_ARG_SCALE, as_memory(vec, h_, *c.in[1])},
             {DNNL_ARG_SHIFT, as_memory(vec, h_, *c.in[2])},
             {DNNL_ARG_DIFF_SRC, as_memory(pd.diff_src_desc(), h_, *c.grad_in[0])},
             {DNNL_ARG_DIFF_SCALE, c.grad_in[1] ? as_memory(vec, h_, *c.grad_in[1]) : dgamma_sink_},
             {DNNL_ARG_DIFF_SHIFT, c.grad_in[2] ? as_memory(vec, h_, *c.grad_in[2]) : dbeta_sink_},
             {DNNL_ARG_SCRATCHPAD, memory(pd.scratchpad_desc(), h_.engine, c.workspace)}});
    h_.stream.wait();
  }

 private:
  // dgamma and dbeta without dx (an input that needs no gradient): oneDNN's backward always
  // writes dx, so these two sums run here, threaded over channel blocks.
  void affine_grads(const BackwardCall& c) const {
    const float* x = c.in[0]->data<float>();
    const float* dy = c.grad_out[0]->data<float>();
    const float* mean = static_cast<const float*>(mean_.get_data_handle());
    const float* var = static_cast<const float*>(var_.get_data_handle());
    float* dgamma = c.grad_in[1] ? c.grad_in[1]->data<float>() : nullptr;
    float* dbeta = c.grad_in[2] ? c.grad_in[2]->data<float>() : nullptr;
    const int64_t C = g_.C, M = g_.count();
    const double eps = g_.epsilon;
    constexpr int64_t B = 64;
#pragma omp parallel for schedule(static)
    for (int64_t c0 = 0; c0 < C; c0 += B) {
      const int64_t n = std::min(B, C - c0);
      double sdy[B] = {}, sdyx[B] = {};
      for (int64_t i = 0; i < M; ++i) {
        const float* xr = x + i * C + c0;
        const float* dr = dy + i * C + c0;
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) {
          sdy[j] += dr[j];
          sdyx[j] += static_cast<double>(dr[j]) * (xr[j] - mean[c0 + j]);
        }
      }
      for (int64_t j = 0; j < n; ++j) {
        if (dbeta) dbeta[c0 + j] = static_cast<float>(sdy[j]);
        if (dgamma) dgamma[c0 + j] = static_cast<float>(sdyx[j] / std::sqrt(var[c0 + j] + eps));
      }
    }
  }

  DnnlHandles& h_;
  std::string name_;
  BnGeom g_;
  dnnl::batch_normalization_forward::primitive_desc eval_pd_, train_pd_;
  dnnl::batch_normalization_backward::primitive_desc bwd_batch_pd_, bwd_const_pd_;
  dnnl::batch_normalization_forward eval_, train_;
  dnnl::batch_normalization_backward bwd_batch_, bwd_const_;
  memory mean_, var_;                // statistics of the last forward
  memory dgamma_sink_, dbeta_sink_;  // oneDNN writes both gradients; these take unwanted ones
  size_t ws_ = 0;
  bool batch_ = false;  // the last forward normalised with batch statistics
};

}  // namespace

std::unique_ptr<Kernel> make_batch_norm_dnnl(const KernelSetup& s) {
  return std::make_unique<BatchNormDnnl>(s);
}

}  // namespace qf
