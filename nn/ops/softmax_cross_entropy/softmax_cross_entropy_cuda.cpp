// softmax_cross_entropy's CUDA kernel (math: softmax_cross_entropy.cpp).
#include "nn/ops/softmax_cross_entropy/softmax_cross_entropy_cuda.h"

#include "nn/kernels/cuda/kernel_util.h"

namespace qf::cuda {
namespace {

// softmax_cross_entropy. Labels outside [0, K) are an InputError, as on the CPU: the forward
// records the first bad row on the device and, when the step is not being recorded as a graph,
// reads it back at once (a 4-byte copy and a stream synchronisation per step). Inside a recorded
// step nothing can be read back; a bad label then makes the loss NaN, which the trainer reports as
// divergence.
class SoftmaxXentCuda final : public Kernel {
 public:
  explicit SoftmaxXentCuda(const KernelSetup& s)
      : ctx_(cuda_context_of(s.ctx)),
        name_(s.node.name),
        eps_(s.node.attrs.get_float("label_smoothing", 0.0)),
        N_(s.in[0].shape[0]),
        K_(s.in[0].shape[1]) {
    require_f32(s, {0});
    max_ = device_floats(ctx_, N_);
    log_s_ = device_floats(ctx_, N_);
    row_loss_ = device_floats(ctx_, N_);
    bad_ = ctx_.empty({1}, DType::i32);
  }

  void forward(const ForwardCall& c) override {
    cudaStream_t st = ctx_.stream();
    int32_t* bad = bad_.data<int32_t>();
    QF_CUDA_CHECK(cudaMemsetAsync(bad, 0x7f, sizeof(int32_t), st));  // 0x7f7f7f7f: none
    softmax_xent_forward(in_f32(c.in[0]), c.in[1]->data<int32_t>(), N_, K_, on(), off(),
                         out_f32(&max_), out_f32(&log_s_), out_f32(&row_loss_), out_f32(c.out[0]),
                         bad, st);
    if (ctx_.capturing()) return;
    int32_t host_bad = 0;
    QF_CUDA_CHECK(cudaMemcpyAsync(&host_bad, bad, sizeof host_bad, cudaMemcpyDeviceToHost, st));
    QF_CUDA_CHECK(cudaStreamSynchronize(st));
    if (host_bad >= N_) return;
    int32_t label = 0;
    QF_CUDA_CHECK(cudaMemcpyAsync(&label, c.in[1]->data<int32_t>() + host_bad, sizeof label,
                                  cudaMemcpyDeviceToHost, st));
    QF_CUDA_CHECK(cudaStreamSynchronize(st));
    throw_input_error("node '", name_, "' (softmax_cross_entropy): label ", label, " at position ",
                      host_bad, " is outside [0, ", K_, ") for ", K_, " classes");
  }

  void backward(const BackwardCall& c) override {
    if (!c.grad_in[0]) return;
    softmax_xent_backward(in_f32(c.in[0]), c.in[1]->data<int32_t>(), in_f32(c.grad_out[0]), N_, K_,
                          on(), off(), in_f32(&max_), in_f32(&log_s_), out_f32(c.grad_in[0]),
                          ctx_.stream());
  }

 private:
  float on() const { return static_cast<float>(1.0 - eps_); }
  float off() const { return static_cast<float>(eps_ / static_cast<double>(K_)); }

  CudaContext& ctx_;
  std::string name_;
  double eps_;
  int64_t N_, K_;
  Tensor max_, log_s_, row_loss_, bad_;
};

}  // namespace

void register_softmax_cross_entropy_cuda(OpRegistry& reg) {
  reg.set_kernel("softmax_cross_entropy", KernelKind::cuda, make_kernel<SoftmaxXentCuda>);
}

}  // namespace qf::cuda
