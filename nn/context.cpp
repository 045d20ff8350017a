#include "nn/context.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "nn/kernels/cpu/dnnl_util.h"

namespace qf {

CpuContext::CpuContext(int threads, bool reference)
    : threads_(threads > 0 ? threads : omp_get_num_procs()), reference_(reference) {
  omp_set_num_threads(threads_);
}

CpuContext::~CpuContext() = default;

DnnlHandles& CpuContext::dnnl() {
  if (!dnnl_) dnnl_ = std::make_unique<DnnlHandles>();
  return *dnnl_;
}

void CpuContext::zero(const Tensor& t) { std::memset(t.raw(), 0, t.nbytes()); }

void CpuContext::add_inplace(const Tensor& dst, const Tensor& src) {
  QF_CHECK(dst.numel() == src.numel(), "add_inplace size mismatch");
  float* d = dst.data<float>();
  const float* s = src.data<float>();
  const int64_t n = dst.numel();
#pragma omp parallel for simd schedule(static) if (n > 32768)
  for (int64_t i = 0; i < n; ++i) d[i] += s[i];
}

void CpuContext::copy(const Tensor& dst, const Tensor& src) {
  QF_CHECK(dst.device().is_cpu() && src.device().is_cpu(), "CpuContext copies host tensors only");
  QF_CHECK(dst.nbytes() == src.nbytes(), "copy of ", src.nbytes(), " bytes into ", dst.nbytes());
  if (dst.raw() != src.raw()) std::memcpy(dst.raw(), src.raw(), src.nbytes());
}

namespace {

// ||grad||^2 over the segments in double: one partial per block of at most kSgdNormBlock elements
// (the blocks in parallel), then the partials added in order, whatever the thread count.
double grad_sum_of_squares(const float* g, std::span<const SgdSegment> segments) {
  std::vector<std::pair<int64_t, int64_t>> blocks;  // (offset, numel)
  for (const SgdSegment& s : segments)
    for (int64_t done = 0; done < s.numel; done += kSgdNormBlock)
      blocks.emplace_back(s.offset + done, std::min<int64_t>(kSgdNormBlock, s.numel - done));
  std::vector<double> partial(blocks.size());
  const int64_t nb = static_cast<int64_t>(blocks.size());
#pragma omp parallel for schedule(static) if (nb > 16)
  for (int64_t b = 0; b < nb; ++b) {
    const float* x = g + blocks[b].first;
    double acc = 0;
    for (int64_t i = 0; i < blocks[b].second; ++i) acc += double(x[i]) * x[i];
    partial[b] = acc;
  }
  double sum = 0;
  for (double x : partial) sum += x;
  return sum;
}

}  // namespace

void CpuContext::sgd_momentum_update(const SgdUpdate& u) {
  float* p = u.param->data<float>();
  const float* g = u.grad->data<float>();
  float* v = u.velocity->data<float>();
  const float m = u.momentum;
  const float clip = u.clip_norm > 0 ? sgd_clip_factor(grad_sum_of_squares(g, u.segments),
                                                       u.grad_scale, u.clip_norm)
                                     : 1.f;
  const float gs = u.grad_scale * clip;
  for (const SgdSegment& s : u.segments) {
    const float lr = u.lr * s.lr_mult, wd = u.weight_decay * s.decay_mult;
    float* ps = p + s.offset;
    const float* gsrc = g + s.offset;
    float* vs = v + s.offset;
    const int64_t n = s.numel;
    if (u.nesterov) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) {
        const float gi = gsrc[i] * gs + wd * ps[i];
        vs[i] = m * vs[i] + gi;
        ps[i] -= lr * (gi + m * vs[i]);
      }
    } else {
#pragma omp parallel for simd schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) {
        vs[i] = m * vs[i] + gsrc[i] * gs + wd * ps[i];
        ps[i] -= lr * vs[i];
      }
    }
  }
}

}  // namespace qf

namespace qf {

// nn/kernels/cuda/cuda_context.cpp, or nn/kernels/cuda_stub/cuda_stub.cpp in builds without CUDA.
std::unique_ptr<DeviceContext> make_cuda_context(const Device& device,
                                                 const ContextOptions& options);

std::unique_ptr<DeviceContext> make_context(const Device& device, const ContextOptions& options) {
  if (device.is_cpu()) return std::make_unique<CpuContext>(options.cpu_threads);
  return make_cuda_context(device, options);
}

std::unique_ptr<DeviceContext> make_context(const Device& device, int cpu_threads) {
  ContextOptions o;
  o.cpu_threads = cpu_threads;
  return make_context(device, o);
}

}  // namespace qf
