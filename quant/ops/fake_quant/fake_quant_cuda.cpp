// CUDA kernels of the fake-quant ops (math, state and train / eval / frozen behaviour in
// fake_quant.h). Float32 only.
//
// Every scale, EMA state and window stays in device memory and is updated in place by kernels on
// the context's stream: the batch max goes to a device scalar the kernel owns, the state update
// reads it there, and the quantize-dequantize reads the new scale there, so a training step does
// no host round trip and can be recorded as a CUDA graph. range_abs_max reads its iteration from
// the context's per-step scalars (published by the forward, as dropout does).
//
// Cross-rank scale sync (attr sync_scales with a communicator of several ranks): the batch max is
// all-reduced with MAX in place on the device, which the NCCL communicator queues on the compute
// stream. Other communicators reduce host memory only, so that combination is an InputError at
// kernel setup rather than ranks silently keeping private scales.
//
// Backward: the straight-through estimator (dx = dout).
#include "quant/ops/fake_quant/fake_quant_cuda.h"

#include "nn/communicator.h"
#include "nn/kernels/cuda/kernel_util.h"
#include "quant/ops/fake_quant/fake_quant.h"

namespace qf::cuda {
namespace {

enum class FqKind { abs_max, channel_wise, moving_average, range_abs_max, observer };

class FakeQuantCuda final : public Kernel {
 public:
  FakeQuantCuda(const KernelSetup& s, FqKind kind)
      : ctx_(cuda_context_of(s.ctx)),
        kind_(kind),
        a_(fake_quant_attrs(s.node)),
        n_(numel(s.in[0].shape)),
        pass_through_(kind == FqKind::observer && s.node.attrs.get_int("quantize", 0) == 0) {
    require_f32(s, {0, 1});
    for (size_t i = 2; i < s.in.size(); ++i)
      QF_CHECK(s.in[i].dtype == DType::f32, "CUDA kernel for '", s.node.op,
               "' needs float32 state");
    if (kind_ == FqKind::channel_wise) {
      g_ = channel_geom(s.node, s.in[0].shape);
      eval_scales_ = device_floats(ctx_, g_.channels);
    }
    if (s.comm && a_.sync_scales && s.comm->size() > 1) {
      if (s.comm->backend() != "nccl")
        throw_input_error("node '", s.node.name, "' (", s.node.op,
                          "): sync_scales across ranks on a CUDA device needs the nccl "
                          "communicator, got '",
                          s.comm->backend(), "'; use dist.backend nccl or sync_scales 0");
      comm_ = s.comm;
    }
    batch_max_ = device_floats(ctx_, 1);
  }

  void forward(const ForwardCall& c) override {
    cudaStream_t st = ctx_.stream();
    const float* x = in_f32(c.in[0]);
    float* y = out_f32(c.out[0]);
    float* scale = out_f32(c.in[1]);
    float* m = out_f32(&batch_max_);
    const bool train = c.mode == Mode::train, updates = train && !a_.frozen;
    const int bits = static_cast<int>(a_.bits);
    switch (kind_) {
      case FqKind::abs_max:
        if (c.mode != Mode::recompute) {  // recompute: batch_max_ still holds the scale it used
          abs_max(x, n_, m, st);
          if (train) sync();
          if (updates) QF_CUDA_CHECK(cudaMemcpyAsync(scale, m, 4, cudaMemcpyDeviceToDevice, st));
        }
        return fake_quant_dequant(x, y, n_, m, bits, 1, st);
      case FqKind::channel_wise:
        // Evaluation recomputes the scales too, into the kernel's buffer (not model state).
        return channel_fake_quant_dequant(x, y, g_.outer, g_.channels, g_.inner,
                                          updates ? scale : out_f32(&eval_scales_), bits, 1, st);
      case FqKind::moving_average:
      case FqKind::observer:
        if (updates) {
          abs_max(x, n_, m, st);
          sync();
          ema_update(m, static_cast<float>(a_.moving_rate), scale, out_f32(c.in[2]),
                     out_f32(c.in[3]), st);
        }
        if (pass_through_) return device_copy(ctx_, *c.out[0], *c.in[0]);
        return fake_quant_dequant(x, y, n_, scale, bits, 1, st);
      case FqKind::range_abs_max:
        if (updates) {
          QF_CHECK(c.in[2]->numel() == a_.window_size, "range_abs_max window buffer has ",
                   c.in[2]->numel(), " entries, window_size is ", a_.window_size);
          abs_max(x, n_, m, st);
          sync();
          ctx_.publish_step(c.step);
          range_abs_max_update(m, scale, out_f32(c.in[2]), a_.window_size, ctx_.step_scalars(), st);
        }
        return fake_quant_dequant(x, y, n_, scale, bits, 1, st);
    }
  }

  void backward(const BackwardCall& c) override {
    if (c.grad_in[0]) device_copy(ctx_, *c.grad_in[0], *c.grad_out[0]);
  }

 private:
  // The batch max, MAX-reduced across ranks in place on the device (when syncing).
  void sync() {
    if (comm_) comm_->all_reduce_max(batch_max_);
  }

  CudaContext& ctx_;
  FqKind kind_;
  FakeQuantAttrs a_;
  int64_t n_;
  bool pass_through_;
  ChannelGeom g_;
  Communicator* comm_ = nullptr;
  Tensor batch_max_, eval_scales_;
};

template <FqKind K>
std::unique_ptr<Kernel> make_fq(const KernelSetup& s) {
  return std::make_unique<FakeQuantCuda>(s, K);
}

}  // namespace

void register_fake_quant_cuda(OpRegistry& reg) {
  reg.set_kernel("fake_quantize_dequantize_abs_max", KernelKind::cuda, make_fq<FqKind::abs_max>);
  reg.set_kernel("fake_channel_wise_quantize_dequantize_abs_max", KernelKind::cuda,
                 make_fq<FqKind::channel_wise>);
  reg.set_kernel("fake_quantize_dequantize_moving_average_abs_max", KernelKind::cuda,
                 make_fq<FqKind::moving_average>);
  reg.set_kernel("fake_quantize_dequantize_range_abs_max", KernelKind::cuda,
                 make_fq<FqKind::range_abs_max>);
  reg.set_kernel("moving_average_abs_max_scale", KernelKind::cuda, make_fq<FqKind::observer>);
}

}  // namespace qf::cuda
