// DeviceContext: everything a kernel needs to run on one device — allocator, thread count, and the
// backend's handles (oneDNN engine and stream on the CPU; CUDA stream and library handles on a GPU).
// Passed explicitly; there is no global device.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <span>

#include "nn/allocator.h"
#include "nn/kernel.h"
#include "nn/kernels/host_device.h"
#include "nn/op_registry.h"
#include "nn/step_graph.h"
#include "nn/tensor.h"

namespace qf {

// One SGD-with-momentum step over a flat parameter arena (see trainer/optimizer.h), per segment:
//   g = grad * grad_scale * clip + weight_decay * decay_mult * p
//   v = momentum * v + g
//   p -= lr * lr_mult * (nesterov ? g + momentum * v : v)
// clip = 1, or with clip_norm > 0 the global-norm clip of Paddle's ClipGradByGlobalNorm (PyTorch's
// clip_grad_norm_): norm = ||grad * grad_scale|| over every segment, clip = clip_norm /
// max(norm, clip_norm). The norm is summed in double over fixed blocks in a fixed order, so it does
// not depend on the thread count.
struct SgdSegment {
  int64_t offset;  // elements into the arena
  int64_t numel;
  float lr_mult;
  float decay_mult;
};
struct SgdUpdate {
  const Tensor* param;
  const Tensor* grad;
  const Tensor* velocity;
  std::span<const SgdSegment> segments;
  float lr, momentum, weight_decay, grad_scale;
  bool nesterov;
  float clip_norm = 0.f;  // 0: no clipping
};

// Elements per partial sum of the clip norm; the CUDA update's chunks (one thread block each) are
// the same blocks.
inline constexpr int64_t kSgdNormBlock = 4096;
// clip_norm / max(sqrt(sum_of_squares) * grad_scale, clip_norm), in double, rounded to float.
inline QF_HOST_DEVICE float sgd_clip_factor(double grad_sum_of_squares, float grad_scale,
                                            float clip_norm) {
  const double norm = ::sqrt(grad_sum_of_squares) * grad_scale;
  return norm > clip_norm ? static_cast<float>(clip_norm / norm) : 1.f;
}

class DeviceContext {
 public:
  virtual ~DeviceContext() = default;
  virtual Device device() const = 0;
  virtual Allocator& allocator() = 0;
  // Kernel column of the op registry this context runs.
  virtual KernelKind kernel_kind() const = 0;

  // Tensor utilities every backend provides (used by the executor and optimizer).
  virtual void zero(const Tensor& t) = 0;
  virtual void add_inplace(const Tensor& dst, const Tensor& src) = 0;  // dst += src (f32)
  // Copies between this device and the host or within this device.
  virtual void copy(const Tensor& dst, const Tensor& src) = 0;
  virtual void synchronize() {}
  // The optimizer's update, fused over all parameters (one pass on the CPU, one kernel on a GPU).
  virtual void sgd_momentum_update(const SgdUpdate& u) = 0;

  Tensor empty(const Shape& s, DType t) { return Tensor::empty(s, t, allocator()); }

  // Host memory that copies to and from this device are fastest with (pinned on a GPU): batch
  // buffers of the data loader come from here.
  virtual Allocator& host_allocator() { return cpu_allocator(); }
  // Runs training steps `fn`: eagerly, or — where the device can and `capturable` says every
  // collective inside may be recorded — recorded once and replayed (CUDA graphs). See step_graph.h.
  virtual std::unique_ptr<StepGraph> make_step_graph(StepFn fn, bool capturable) {
    return std::make_unique<EagerStepGraph>(std::move(fn));
  }
};

struct DnnlHandles;  // defined in nn/kernels/cpu/dnnl_util.h

class CpuContext final : public DeviceContext {
 public:
  // threads <= 0: all available cores. `reference` selects the plain reference kernels.
  explicit CpuContext(int threads = 0, bool reference = false);
  ~CpuContext() override;

  Device device() const override { return Device::cpu(); }
  Allocator& allocator() override { return cpu_allocator(); }
  KernelKind kernel_kind() const override {
    return reference_ ? KernelKind::cpu_ref : KernelKind::cpu;
  }
  void zero(const Tensor& t) override;
  void add_inplace(const Tensor& dst, const Tensor& src) override;
  void copy(const Tensor& dst, const Tensor& src) override;
  void sgd_momentum_update(const SgdUpdate& u) override;

  int threads() const { return threads_; }
  DnnlHandles& dnnl();

 private:
  int threads_;
  bool reference_;
  std::unique_ptr<DnnlHandles> dnnl_;
};

// How a context runs (from the run configuration: run.threads, cuda.tf32, cuda.graphs).
struct ContextOptions {
  int cpu_threads = 0;      // CPU: threads (0: all cores)
  bool tf32 = true;         // CUDA: TF32 tensor-core math in float32 convolutions and matmuls
  bool cuda_graphs = true;  // CUDA: record the training step once as a CUDA graph and replay it
};

// The context for `device`: a CpuContext, or a CUDA context when built with CUDA and a GPU is
// usable. Throws InputError when a CUDA device is asked for and none is usable.
std::unique_ptr<DeviceContext> make_context(const Device& device, const ContextOptions& options);
std::unique_ptr<DeviceContext> make_context(const Device& device, int cpu_threads);

// True when this build has CUDA and at least one GPU answers and can run its kernels.
bool cuda_available();
// Why cuda_available() is false (one line), or the GPU's name when it is true.
std::string cuda_status();

// The cudaStream_t (as void*) that a CUDA context's kernels run on, for libraries that enqueue
// on it (NCCL); null for any other context.
void* cuda_stream_of(DeviceContext& ctx);

// The cudaStream_t a CUDA context queues its kernels on (NCCL collectives join it, comm/nccl/);
// null for any other context. Defined by the CUDA backend (and by the no-CUDA stub).
void* cuda_stream_of(DeviceContext& ctx);

}  // namespace qf
