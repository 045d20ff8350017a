// CUDA kernels of max_pool2d, avg_pool2d (semantics: nn/ops/pool2d/pool2d.h,
// nn/ops/pool2d/pool2d_ref.h) and global_avg_pool. Own kernels rather than cuDNN's pooling: cuDNN
// pads symmetrically only and has neither PyTorch's ceil_mode divisor nor its first-maximum tie
// rule, and pooling is a small share of a CNN step. A training max-pool keeps, per output, the
// position of its window's first maximum (a buffer of int32 allocated when the kernel is made) for
// backward.
#include "nn/ops/pool2d/pool2d_cuda.h"

#include "nn/kernels/cuda/kernel_util.h"
#include "nn/ops/pool2d/pool2d.h"

namespace qf::cuda {
namespace {

PoolDims dims_of(const PoolGeom& g) {
  auto i = [](int64_t v) {
    QF_CHECK(v <= INT32_MAX, "pooling dimension ", v, " exceeds int32");
    return static_cast<int>(v);
  };
  return {i(g.N),  i(g.C),  i(g.H),  i(g.W),  i(g.KH),
          i(g.KW), i(g.sh), i(g.sw), i(g.pt), i(g.pl),
          i(g.pb), i(g.pr), i(g.OH), i(g.OW), g.count_include_pad};
}

class MaxPoolCuda final : public Kernel {
 public:
  explicit MaxPoolCuda(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)), d_(dims_of(pool_geom(s.node, s.in[0], false))) {
    require_f32(s, {0});
    if (s.training) argmax_ = ctx_.empty({int64_t{d_.N} * d_.OH * d_.OW * d_.C}, DType::i32);
  }
  void forward(const ForwardCall& c) override {
    int32_t* am = c.mode == Mode::train && argmax_.defined() ? argmax_.data<int32_t>() : nullptr;
    have_argmax_ = am != nullptr;
    max_pool2d_forward(d_, in_f32(c.in[0]), out_f32(c.out[0]), am, ctx_.stream());
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    QF_CHECK(have_argmax_, "max_pool2d backward without a training forward");
    max_pool2d_backward(d_, argmax_.data<int32_t>(), in_f32(c.grad_out[0]), out_f32(c.grad_in[0]),
                        ctx_.stream());
  }

 private:
  CudaContext& ctx_;
  PoolDims d_;
  Tensor argmax_;
  bool have_argmax_ = false;
};

class AvgPoolCuda final : public Kernel {
 public:
  explicit AvgPoolCuda(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)), d_(dims_of(pool_geom(s.node, s.in[0], true))) {
    require_f32(s, {0});
  }
  void forward(const ForwardCall& c) override {
    avg_pool2d_forward(d_, in_f32(c.in[0]), out_f32(c.out[0]), ctx_.stream());
  }
  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    avg_pool2d_backward(d_, in_f32(c.grad_out[0]), out_f32(c.grad_in[0]), ctx_.stream());
  }

 private:
  CudaContext& ctx_;
  PoolDims d_;
};

}  // namespace

void register_pool2d_cuda(OpRegistry& reg) {
  reg.set_kernel("max_pool2d", KernelKind::cuda, make_kernel<MaxPoolCuda>);
  reg.set_kernel("avg_pool2d", KernelKind::cuda, make_kernel<AvgPoolCuda>);
}

}  // namespace qf::cuda
