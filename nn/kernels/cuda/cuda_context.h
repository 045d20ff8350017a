// CudaContext: the DeviceContext of one NVIDIA GPU.
//
// It owns, for device cuda:N:
//  - a caching allocator over cudaMalloc (nn/caching_allocator.h): after the first training step
//    every tensor of a step comes from its free lists, so a step does no cudaMalloc;
//  - a caching allocator over pinned host memory (cudaHostAlloc), handed to the data loader as
//    host_allocator(), so image batches copy to the GPU asynchronously;
//  - one compute stream: every kernel, library call and copy of the context runs on it, in order
//    (which is what makes the allocator's immediate reuse of freed blocks safe);
//  - a cuDNN and a cuBLAS handle bound to that stream, cuBLAS with a fixed workspace (so that
//    recording a CUDA graph never allocates), and TF32 math on or off (ContextOptions::tf32);
//  - the per-step scalars (step_scalars.h) in device memory, and the cache of convolution
//    algorithms chosen per shape.
//
// Copies: host -> device returns once the source is staged (pageable) or at once (pinned memory,
// which must stay unchanged until the stream reaches the copy — the loader's batches do: the
// trainer reads its loss before it takes the next batch); device -> host waits for the stream;
// device -> device is enqueued.
//
// One context per device and thread: the constructor makes its device current on the calling
// thread, and every call must come from a thread where it is current.
#pragma once

#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nn/caching_allocator.h"
#include "nn/context.h"
#include "nn/kernels/cuda/cublas_lib.h"
#include "nn/kernels/cuda/step_scalars.h"

namespace qf::cuda {

// cuDNN algorithms chosen for one convolution shape (see conv2d_cudnn.cpp).
struct ConvAlgos {
  cudnnConvolutionFwdAlgo_t fwd{};
  cudnnConvolutionBwdDataAlgo_t bwd_data{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter{};
  cudnnMathType_t fwd_math{}, bwd_data_math{}, bwd_filter_math{};
  size_t fwd_ws = 0, bwd_data_ws = 0, bwd_filter_ws = 0;
  bool has_backward = false;
};

class CudaContext final : public DeviceContext {
 public:
  CudaContext(int device_index, const ContextOptions& options);
  ~CudaContext() override;
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  Device device() const override { return Device::cuda(index_); }
  Allocator& allocator() override { return *device_alloc_; }
  KernelKind kernel_kind() const override { return KernelKind::cuda; }
  void zero(const Tensor& t) override;
  void add_inplace(const Tensor& dst, const Tensor& src) override;
  void copy(const Tensor& dst, const Tensor& src) override;
  void synchronize() override;
  void sgd_momentum_update(const SgdUpdate& u) override;
  Allocator& host_allocator() override { return *pinned_alloc_; }
  std::unique_ptr<StepGraph> make_step_graph(StepFn fn, bool capturable) override;

  cudaStream_t stream() const { return stream_; }
  cudnnHandle_t cudnn() const { return cudnn_; }
  cublasHandle_t cublas() const { return cublas_; }
  const CublasLib& blas() const { return *blas_; }
  bool tf32() const { return options_.tf32; }
  const ContextOptions& options() const { return options_; }
  int multiprocessors() const { return sm_count_; }
  const std::string& name() const { return name_; }
  // True while the calling thread records a CUDA graph on this context's stream: kernels must not
  // synchronise or read device memory on the host then.
  bool capturing() const;

  // Per-step scalars in device memory (nn/step_graph.h). publish_step / publish_lr enqueue the
  // copy of new values into it; while a graph is recorded the copy reads the context's recording
  // slot, which the step graph rewrites before each replay (set_recorded_scalars).
  const StepScalars* step_scalars() const { return dev_scalars_; }
  void publish_step(const StepInfo& s);
  void publish_lr(float lr);
  void set_recorded_scalars(const StepScalars& s) { *recorded_scalars_ = s; }

  // Convolution algorithms cached by shape key (conv2d_cudnn.cpp fills it).
  ConvAlgos* find_conv_algos(const std::string& key);
  void store_conv_algos(const std::string& key, const ConvAlgos& a);

  CachingAllocator::Stats device_memory_stats() const { return device_alloc_->stats(); }

 private:
  // Copies `bytes` of `src` (host) into device scalar field at `offset`, through the recording
  // slot while capturing, else through a ring of pinned slots.
  void publish(size_t offset, const void* src, size_t bytes);
  struct SgdTable;
  const SgdTable& sgd_table(std::span<const SgdSegment> segments);

  int index_;
  ContextOptions options_;
  std::string name_;
  int sm_count_ = 0;
  std::unique_ptr<CachingAllocator> device_alloc_;
  std::unique_ptr<CachingAllocator> pinned_alloc_;
  cudaStream_t stream_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  const CublasLib* blas_ = nullptr;
  Tensor cublas_workspace_;
  Tensor scalars_;                           // holds dev_scalars_
  StepScalars* dev_scalars_ = nullptr;       // device
  StepScalars* recorded_scalars_ = nullptr;  // pinned host, read by recorded copies
  static constexpr int kRing = 64;
  StepScalars* ring_ = nullptr;  // pinned host, kRing slots for eager publishes
  cudaEvent_t ring_events_[kRing] = {};
  int ring_next_ = 0;
  std::map<std::string, ConvAlgos> conv_algos_;
  std::vector<std::unique_ptr<SgdTable>> sgd_tables_;
};

// The CudaContext behind `ctx` (InternalError when it is another kind).
CudaContext& cuda_context_of(DeviceContext& ctx);

}  // namespace qf::cuda
