// CudaContext (see cuda_context.h), device discovery, and the entry points nn/context.h declares
// for CUDA builds: cuda_available, cuda_status, make_cuda_context, cuda_stream_of.
#include "nn/kernels/cuda/cuda_context.h"

#include <cuda_runtime.h>
#include <dlfcn.h>

#include <cstring>

#include "nn/kernels/cuda/cuda_check.h"
#include "nn/kernels/cuda/launch.h"

namespace qf {
namespace cuda {

void throw_library_error(const char* library, long code, const char* message, const char* call,
                         const char* file, int line) {
  std::string detail;
  if (std::strcmp(library, "cuDNN") == 0 && cudnn_last_error()[0] != '\0')
    detail = str_cat(" (", cudnn_last_error(), ")");
  throw InternalError(str_cat(file, ":", line, ": ", library, " error ", code, " (", message, ")",
                              detail, " in ", call));
}

const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR:
      return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "unknown cuBLAS status";
}

const char* cudnn_last_error() {
  thread_local char buf[512];
  buf[0] = '\0';
  cudnnGetLastErrorString(buf, sizeof buf);
  return buf;
}

namespace {

std::string mib(size_t b) {
  return str_cat(b >> 20, " MiB");
}

class DeviceMemory final : public RawAllocator {
 public:
  explicit DeviceMemory(int index) : index_(index) {}
  void* raw_allocate(size_t bytes) override {
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear it: the caching allocator retries or reports
      return nullptr;
    }
    QF_CUDA_CHECK(e);
    return p;
  }
  void raw_free(void* p) override { cudaFree(p); }
  Device device() const override { return Device::cuda(index_); }
  std::string name() const override { return Device::cuda(index_).str() + " device memory"; }

 private:
  int index_;
};

class PinnedMemory final : public RawAllocator {
 public:
  void* raw_allocate(size_t bytes) override {
    void* p = nullptr;
    const cudaError_t e = cudaHostAlloc(&p, bytes, cudaHostAllocDefault);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      return nullptr;
    }
    QF_CUDA_CHECK(e);
    return p;
  }
  void raw_free(void* p) override { cudaFreeHost(p); }
  Device device() const override { return Device::cpu(); }
  std::string name() const override { return "pinned host memory"; }
};

// Device discovery, once per process.
struct Discovery {
  int count = 0;
  bool usable = false;
  std::string status;
};

const Discovery& discovery() {
  static const Discovery d = [] {
    Discovery r;
    if (void* h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
      dlclose(h);
    } else {
      r.status = "no usable GPU: no NVIDIA driver on this machine (libcuda.so.1 not found)";
      return r;
    }
    cudaError_t e = cudaGetDeviceCount(&r.count);
    if (e != cudaSuccess) {
      cudaGetLastError();
      r.count = 0;
      r.status = str_cat("no usable GPU: ", cudaGetErrorString(e));
      return r;
    }
    if (r.count == 0) {
      r.status = "no usable GPU: the CUDA driver sees no device";
      return r;
    }
    cudaDeviceProp p{};
    QF_CUDA_CHECK(cudaGetDeviceProperties(&p, 0));
    QF_CUDA_CHECK(cudaSetDevice(0));
    e = probe_kernels();
    if (e != cudaSuccess) {
      cudaGetLastError();
      r.status =
          str_cat("no usable GPU: ", p.name, " has compute capability ", p.major, ".", p.minor,
                  ", which this build's kernels do not cover (", cudaGetErrorString(e),
                  "; rebuild with -DCMAKE_CUDA_ARCHITECTURES=", p.major, p.minor, ")");
      return r;
    }
    r.usable = true;
    r.status = str_cat(p.name, " (compute capability ", p.major, ".", p.minor, ", ",
                       p.multiProcessorCount, " SMs, ", mib(p.totalGlobalMem), ")");
    return r;
  }();
  return d;
}

// One training step recorded as a CUDA graph and replayed (nn/step_graph.h).
class CudaStepGraph final : public StepGraph {
 public:
  CudaStepGraph(CudaContext& ctx, StepFn fn) : ctx_(ctx), fn_(std::move(fn)) {}
  ~CudaStepGraph() override {
    if (done_) cudaEventSynchronize(done_);
    if (exec_) cudaGraphExecDestroy(exec_);
    if (done_) cudaEventDestroy(done_);
  }

  void run(const StepValues& v) override {
    if (warmups_ < 1) {  // library handles, lazily made buffers and tables settle eagerly first
      fn_(v);
      ++warmups_;
      return;
    }
    if (!exec_) {
      record(v);
    } else {
      QF_CUDA_CHECK(cudaEventSynchronize(done_));  // the last replay has read the scalar slot
      ctx_.set_recorded_scalars(scalars_of(v));
    }
    QF_CUDA_CHECK(cudaGraphLaunch(exec_, ctx_.stream()));
    QF_CUDA_CHECK(cudaEventRecord(done_, ctx_.stream()));
  }
  bool recorded() const override { return exec_ != nullptr; }

 private:
  static StepScalars scalars_of(const StepValues& v) {
    StepScalars s;
    s.seed = v.step.seed;
    s.step = v.step.step;
    s.lr = static_cast<float>(v.lr);
    return s;
  }

  void record(const StepValues& v) {
    cudaStream_t st = ctx_.stream();
    ctx_.set_recorded_scalars(scalars_of(v));
    QF_CUDA_CHECK(cudaStreamBeginCapture(st, cudaStreamCaptureModeThreadLocal));
    try {
      fn_(v);
    } catch (...) {
      cudaGraph_t g = nullptr;
      cudaStreamEndCapture(st, &g);
      if (g) cudaGraphDestroy(g);
      cudaGetLastError();
      throw;
    }
    cudaGraph_t g = nullptr;
    QF_CUDA_CHECK(cudaStreamEndCapture(st, &g));
    const cudaError_t e = cudaGraphInstantiate(&exec_, g, 0);
    cudaGraphDestroy(g);
    QF_CUDA_CHECK(e);
    QF_CUDA_CHECK(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming));
  }

  CudaContext& ctx_;
  StepFn fn_;
  int warmups_ = 0;
  cudaGraphExec_t exec_ = nullptr;
  cudaEvent_t done_ = nullptr;
};

}  // namespace

struct CudaContext::SgdTable {
  std::vector<SgdSegment> segments;
  Tensor chunks;  // device SgdChunk array
  int num_chunks = 0;
  Tensor clip;  // device: num_chunks partial sums of squares (double), then the factor (float)
};

CudaContext::CudaContext(int device_index, const ContextOptions& options)
    : index_(device_index), options_(options) {
  QF_CUDA_CHECK(cudaSetDevice(index_));
  cudaDeviceProp p{};
  QF_CUDA_CHECK(cudaGetDeviceProperties(&p, index_));
  name_ = p.name;
  sm_count_ = p.multiProcessorCount;
  device_alloc_ = std::make_unique<CachingAllocator>(std::make_unique<DeviceMemory>(index_));
  pinned_alloc_ = std::make_unique<CachingAllocator>(std::make_unique<PinnedMemory>());
  QF_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  QF_CUDNN_CHECK(cudnnCreate(&cudnn_));
  QF_CUDNN_CHECK(cudnnSetStream(cudnn_, stream_));
  blas_ = &cublas_lib();
  QF_CUBLAS_CHECK(blas_->create(&cublas_));
  QF_CUBLAS_CHECK(blas_->set_stream(cublas_, stream_));
  QF_CUBLAS_CHECK(blas_->set_math_mode(
      cublas_, options_.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  // A fixed workspace (NVIDIA's advice for Hopper: 32 MiB) so that cuBLAS never allocates while
  // a graph is recorded.
  cublas_workspace_ = empty({32 << 20}, DType::u8);
  QF_CUBLAS_CHECK(
      blas_->set_workspace(cublas_, cublas_workspace_.raw(), cublas_workspace_.nbytes()));
  scalars_ = empty({static_cast<int64_t>(sizeof(StepScalars))}, DType::u8);
  dev_scalars_ = static_cast<StepScalars*>(scalars_.raw());
  QF_CUDA_CHECK(cudaMemsetAsync(dev_scalars_, 0, sizeof(StepScalars), stream_));
  QF_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&recorded_scalars_), sizeof(StepScalars),
                              cudaHostAllocDefault));
  *recorded_scalars_ = StepScalars{};
  QF_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&ring_), sizeof(StepScalars) * kRing,
                              cudaHostAllocDefault));
  for (cudaEvent_t& e : ring_events_)
    QF_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
}

CudaContext::~CudaContext() {
  cudaStreamSynchronize(stream_);
  for (cudaEvent_t e : ring_events_)
    if (e) cudaEventDestroy(e);
  if (ring_) cudaFreeHost(ring_);
  if (recorded_scalars_) cudaFreeHost(recorded_scalars_);
  sgd_tables_.clear();
  scalars_ = Tensor();
  cublas_workspace_ = Tensor();
  if (cublas_) blas_->destroy(cublas_);
  if (cudnn_) cudnnDestroy(cudnn_);
  if (stream_) cudaStreamDestroy(stream_);
}

bool CudaContext::capturing() const {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  QF_CUDA_CHECK(cudaStreamIsCapturing(stream_, &st));
  return st != cudaStreamCaptureStatusNone;
}

void CudaContext::zero(const Tensor& t) {
  if (t.device().is_cpu()) {
    std::memset(t.raw(), 0, t.nbytes());
    return;
  }
  QF_CUDA_CHECK(cudaMemsetAsync(t.raw(), 0, t.nbytes(), stream_));
}

void CudaContext::add_inplace(const Tensor& dst, const Tensor& src) {
  QF_CHECK(dst.numel() == src.numel(), "add_inplace size mismatch");
  QF_CHECK(dst.device().is_cuda() && src.device().is_cuda(), "add_inplace of host tensors");
  cuda::add_inplace(dst.data<float>(), src.data<float>(), dst.numel(), stream_);
}

void CudaContext::copy(const Tensor& dst, const Tensor& src) {
  QF_CHECK(dst.nbytes() == src.nbytes(), "copy of ", src.nbytes(), " bytes into ", dst.nbytes());
  const bool dh = dst.device().is_cpu(), sh = src.device().is_cpu();
  if (!dh)
    QF_CHECK(dst.device() == device(), "copy into ", dst.device().str(), " on ", device().str());
  if (!sh)
    QF_CHECK(src.device() == device(), "copy from ", src.device().str(), " on ", device().str());
  if (dst.raw() == src.raw() || src.nbytes() == 0) return;
  if (dh && sh) {
    std::memcpy(dst.raw(), src.raw(), src.nbytes());
  } else if (dh) {
    QF_CHECK(!capturing(), "a device-to-host copy while a CUDA graph is recorded");
    QF_CUDA_CHECK(
        cudaMemcpyAsync(dst.raw(), src.raw(), src.nbytes(), cudaMemcpyDeviceToHost, stream_));
    QF_CUDA_CHECK(cudaStreamSynchronize(stream_));
  } else {
    QF_CUDA_CHECK(cudaMemcpyAsync(dst.raw(), src.raw(), src.nbytes(),
                                  sh ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToDevice, stream_));
  }
}

void CudaContext::synchronize() {
  QF_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaContext::publish(size_t offset, const void* src, size_t bytes) {
  char* dev = reinterpret_cast<char*>(dev_scalars_) + offset;
  if (capturing()) {
    char* slot = reinterpret_cast<char*>(recorded_scalars_) + offset;
    std::memcpy(slot, src, bytes);
    QF_CUDA_CHECK(cudaMemcpyAsync(dev, slot, bytes, cudaMemcpyHostToDevice, stream_));
    return;
  }
  const int i = ring_next_;
  ring_next_ = (ring_next_ + 1) % kRing;
  QF_CUDA_CHECK(cudaEventSynchronize(ring_events_[i]));  // its previous copy has run
  char* slot = reinterpret_cast<char*>(ring_ + i) + offset;
  std::memcpy(slot, src, bytes);
  QF_CUDA_CHECK(cudaMemcpyAsync(dev, slot, bytes, cudaMemcpyHostToDevice, stream_));
  QF_CUDA_CHECK(cudaEventRecord(ring_events_[i], stream_));
}

void CudaContext::publish_step(const StepInfo& s) {
  StepScalars v;
  v.seed = s.seed;
  v.step = s.step;
  static_assert(offsetof(StepScalars, step) == sizeof(uint64_t));
  publish(offsetof(StepScalars, seed), &v.seed, sizeof v.seed + sizeof v.step);
}

void CudaContext::publish_lr(float lr) {
  publish(offsetof(StepScalars, lr), &lr, sizeof lr);
}

ConvAlgos* CudaContext::find_conv_algos(const std::string& key) {
  auto it = conv_algos_.find(key);
  return it == conv_algos_.end() ? nullptr : &it->second;
}

void CudaContext::store_conv_algos(const std::string& key, const ConvAlgos& a) {
  conv_algos_[key] = a;
}

const CudaContext::SgdTable& CudaContext::sgd_table(std::span<const SgdSegment> segments) {
  auto same = [&](const SgdTable& t) {
    if (t.segments.size() != segments.size()) return false;
    for (size_t i = 0; i < segments.size(); ++i) {
      const SgdSegment &a = t.segments[i], &b = segments[i];
      if (a.offset != b.offset || a.numel != b.numel || a.lr_mult != b.lr_mult ||
          a.decay_mult != b.decay_mult)
        return false;
    }
    return true;
  };
  for (const auto& t : sgd_tables_)
    if (same(*t)) return *t;
  QF_CHECK(!capturing(), "the SGD chunk table must exist before a step is recorded");
  auto t = std::make_unique<SgdTable>();
  t->segments.assign(segments.begin(), segments.end());
  const std::vector<SgdChunk> chunks = sgd_chunks(segments);
  t->num_chunks = static_cast<int>(chunks.size());
  t->chunks = empty({static_cast<int64_t>(std::max<size_t>(1, chunks.size() * sizeof(SgdChunk)))},
                    DType::u8);
  if (!chunks.empty())
    QF_CUDA_CHECK(cudaMemcpyAsync(t->chunks.raw(), chunks.data(), chunks.size() * sizeof(SgdChunk),
                                  cudaMemcpyHostToDevice, stream_));
  QF_CUDA_CHECK(cudaStreamSynchronize(stream_));  // `chunks` (pageable) goes out of scope
  t->clip = empty({static_cast<int64_t>((chunks.size() + 1) * sizeof(double))}, DType::u8);
  sgd_tables_.push_back(std::move(t));
  return *sgd_tables_.back();
}

void CudaContext::sgd_momentum_update(const SgdUpdate& u) {
  QF_CHECK(
      u.param->device().is_cuda() && u.grad->device().is_cuda() && u.velocity->device().is_cuda(),
      "SGD update of host tensors on ", device().str());
  const SgdTable& t = sgd_table(u.segments);
  publish_lr(u.lr);
  const auto* chunks = static_cast<const SgdChunk*>(t.chunks.raw());
  float* clip = nullptr;
  if (u.clip_norm > 0) {
    auto* partial = static_cast<double*>(t.clip.raw());
    clip = reinterpret_cast<float*>(partial + t.num_chunks);
    grad_clip_factor(u.grad->data<float>(), chunks, t.num_chunks, partial, u.grad_scale,
                     u.clip_norm, clip, stream_);
  }
  sgd_momentum(u.param->data<float>(), u.grad->data<float>(), u.velocity->data<float>(), chunks,
               t.num_chunks, dev_scalars_, clip, u.momentum, u.weight_decay, u.grad_scale,
               u.nesterov, stream_);
}

std::unique_ptr<StepGraph> CudaContext::make_step_graph(StepFn fn, bool capturable) {
  if (!options_.cuda_graphs || !capturable) return std::make_unique<EagerStepGraph>(std::move(fn));
  return std::make_unique<CudaStepGraph>(*this, std::move(fn));
}

CudaContext& cuda_context_of(DeviceContext& ctx) {
  auto* c = dynamic_cast<CudaContext*>(&ctx);
  QF_CHECK(c, "a CUDA kernel was given a ", ctx.device().str(), " context");
  return *c;
}

}  // namespace cuda

bool cuda_available() {
  return cuda::discovery().usable;
}

std::string cuda_status() {
  return cuda::discovery().status;
}

void* cuda_stream_of(DeviceContext& ctx) {
  auto* c = dynamic_cast<cuda::CudaContext*>(&ctx);
  return c ? static_cast<void*>(c->stream()) : nullptr;
}

std::unique_ptr<DeviceContext> make_cuda_context(const Device& device,
                                                 const ContextOptions& options) {
  const cuda::Discovery& d = cuda::discovery();
  if (!d.usable) throw_input_error("device ", device.str(), ": ", d.status);
  if (device.index < 0 || device.index >= d.count)
    throw_input_error("device ", device.str(), ": this machine has ", d.count,
                      " GPU(s) (cuda:0 .. cuda:", d.count - 1, ")");
  return std::make_unique<cuda::CudaContext>(device.index, options);
}

}  // namespace qf
