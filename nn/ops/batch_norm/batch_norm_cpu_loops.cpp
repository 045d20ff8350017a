// batch_norm on channels-last data with OpenMP loops (math in nn/ops/batch_norm/batch_norm.h), and
// the choice between these loops and oneDNN (nn/ops/batch_norm/batch_norm_cpu_dnnl.cpp) for a node.
//
// Memory is M = N*H*W rows of C channels. Threads split the rows; every pass streams whole rows,
// and per-channel sums go to per-thread partials (float over blocks of kRowBlock rows, then double,
// in the workspace) that are combined channel-slice by channel-slice in the same parallel region;
// the per-channel coefficients are computed between that region and the streaming pass.
//   training forward: one statistics pass — sums of d = x - K and d^2 with K the first row (a
//                     shift close to the mean, so var = (S2 - S1^2 / M) / M loses nothing) — then
//                     y = x * scale + shift, scale = gamma * istd, shift = beta - mean * scale.
//                     Two reads and one write of x's size (oneDNN reads x three times).
//   backward:         one pass for sum dy and sum dy * (x - mean), one pass for
//                     dx = k * dy + b * x + a (k, a, b per channel).
// The statistics the last forward used (mean, istd) stay in the kernel for backward.
//
// SyncBatchNorm (nn/ops/batch_norm/batch_norm.h): the forward's statistics pass runs twice — sum x
// (shifted by this rank's first row) is summed over ranks with the count, giving the global mean,
// then the sums of d = x - mean and d^2 are, so every rank's shift is the same and the variance
// keeps the precision of the one-rank pass; backward sums S1 and S2 over ranks before the dx
// coefficients. oneDNN cannot take statistics from outside, so synchronised nodes always run these
// loops.
//
// Which runs: measured on the 2-core AVX-512 development machine (oneDNN 2.6.3, 2 threads, best of
// repeated runs on a shared machine, so +-20%; ms for training forward / backward / eval forward):
//   (N, C, H, W)        oneDNN                 loops
//   (32, 64, 56, 56)    0.83 / 1.35 / 0.46     1.06 / 2.33 / 0.51
//   (64, 32, 28, 28)    0.25 / 0.29 / 0.15     0.19 / 0.26 / 0.08
//   (64, 960, 7, 7)     0.49 / 0.66 / 0.30     0.34 / 0.73 / 0.17
//   (64, 24, 56, 56)    1.02 / 1.64 / 0.69     1.03 / 1.55 / 0.36
//   (64, 40, 28, 28)    0.41 / 0.64 / 0.29     0.26 / 0.42 / 0.11
//   (64, 120, 14, 14)   0.33 / 0.50 / 0.22     0.18 / 0.28 / 0.07
// oneDNN's AVX-512 kernel (chosen when C is a multiple of 16) wins the large backward passes
// (1.7x at 64 channels), small tensors are a draw; for other channel counts (MobileNetV2/V3's 24,
// 40, 72, 120, ...) oneDNN falls back to generic code and the loops are as fast or up to 1.8x
// (training) and 3x (eval) faster. So: oneDNN when C % 16 == 0, loops otherwise.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "nn/communicator.h"
#include "nn/ops/batch_norm/batch_norm.h"
#include "nn/ops/op_util.h"

namespace qf {
namespace {

constexpr int64_t kParallelMin = 32768;  // elements; below this, one thread
constexpr int64_t kRowBlock = 32;        // rows summed in float before adding into double

// Per-channel sums over the M rows of x (M x C, channel fastest), threaded over rows; per-thread
// partials in the workspace (float over kRowBlock rows, then double), combined channel slice by
// channel slice into t1 and t2. Without dy: sums of d = x - shift and d^2; with dy: sums of dy
// and dy * (x - shift).
template <bool kGrad>
void channel_sums(const float* x, const float* dy, const float* shift, int64_t M, int64_t C,
                  int threads, void* workspace, double* t1, double* t2) {
  double* part = static_cast<double*>(workspace);
  float* blocks = reinterpret_cast<float*>(part + 2 * threads * C);
#pragma omp parallel num_threads(threads) if (M * C > kParallelMin)
  {
    const int64_t nt = omp_get_num_threads(), tid = omp_get_thread_num();
    const int64_t r0 = M * tid / nt, r1 = M * (tid + 1) / nt;
    const int64_t c0 = C * tid / nt, c1 = C * (tid + 1) / nt;
    double* s1 = part + 2 * tid * C;
    double* s2 = s1 + C;
    float* f1 = blocks + 2 * tid * C;
    float* f2 = f1 + C;
    std::fill(s1, s1 + 2 * C, 0.0);
    for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
      std::fill(f1, f1 + 2 * C, 0.f);
      for (int64_t r = rb, re = std::min(r1, rb + kRowBlock); r < re; ++r) {
        const float* xr = x + r * C;
        if constexpr (kGrad) {
          const float* dr = dy + r * C;
#pragma omp simd
          for (int64_t ch = 0; ch < C; ++ch) {
            f1[ch] += dr[ch];
            f2[ch] += dr[ch] * (xr[ch] - shift[ch]);
          }
        } else {
#pragma omp simd
          for (int64_t ch = 0; ch < C; ++ch) {
            const float d = xr[ch] - shift[ch];
            f1[ch] += d;
            f2[ch] += d * d;
          }
        }
      }
#pragma omp simd
      for (int64_t ch = 0; ch < C; ++ch) {
        s1[ch] += f1[ch];
        s2[ch] += f2[ch];
      }
    }
#pragma omp barrier
    for (int64_t ch = c0; ch < c1; ++ch) {
      double S1 = 0, S2 = 0;
      for (int64_t t = 0; t < nt; ++t) {
        S1 += part[2 * t * C + ch];
        S2 += part[2 * t * C + C + ch];
      }
      t1[ch] = S1;
      t2[ch] = S2;
    }
  }
}

class BatchNormLoops final : public Kernel {
 public:
  explicit BatchNormLoops(const KernelSetup& s)
      : name_(s.node.name),
        g_(bn_geom(s.node, s.in)),
        comm_(bn_sync_comm(s, g_)),
        threads_(omp_get_max_threads()),
        mean_(g_.C),
        istd_(g_.C),
        k_(g_.C),
        a_(g_.C),
        b_(g_.C) {
    sums_ = Tensor::empty({2 * g_.C + 1}, DType::f64);
    count_view_ = sums_.view(0, {g_.C + 1}, DType::f64);
    pair_view_ = sums_.view(0, {2 * g_.C}, DType::f64);
  }

  // Per thread: double sums (2 C) and float sums of the current row block (2 C).
  size_t workspace_bytes() const override {
    return (sizeof(double) + sizeof(float)) * 2 * threads_ * g_.C;
  }

  void forward(const ForwardCall& c) override {
    const int64_t M = g_.count(), C = g_.C;
    batch_ = c.mode == Mode::train && !g_.use_running_stats;
    const bool sync = batch_ && comm_;
    if (batch_ && !sync && M < 2)
      throw_input_error("node '", name_, "' (batch_norm): training needs more than one value per ",
                        "channel, input has ", M);
    const float* x = c.in[0]->data<float>();
    const float* gamma = c.in[1]->data<float>();
    const float* beta = c.in[2]->data<float>();
    float* rmean = c.in[3]->data<float>();
    float* rvar = c.in[4]->data<float>();
    float* y = c.out[0]->data<float>();
    float* mean = mean_.data();
    float* istd = istd_.data();
    float* scale = a_.data();  // forward uses a_/b_ as scale/shift; backward recomputes them
    float* shift = b_.data();
    double* t1 = sums_.data<double>();
    double* t2 = t1 + C;
    const double eps = g_.epsilon, mom = g_.momentum;
    count_ = static_cast<double>(M);
    if (batch_) {
      // Shift by the first row: close to the mean, so (S2 - S1^2 / M) / M loses nothing.
      channel_sums<false>(x, nullptr, x, M, C, threads_, c.workspace, t1, t2);
      const float* K = x;
      if (sync) {  // global mean first, then the sums around it
        for (int64_t ch = 0; ch < C; ++ch) t1[ch] += static_cast<double>(M) * x[ch];
        t1[C] = static_cast<double>(M);
        comm_->all_reduce_sum(count_view_);
        count_ = t1[C];
        if (count_ < 2)
          throw_input_error("node '", name_, "' (batch_norm): training needs more than one value ",
                            "per channel over all ranks, has ", count_);
        for (int64_t ch = 0; ch < C; ++ch) mean[ch] = static_cast<float>(t1[ch] / count_);
        channel_sums<false>(x, nullptr, mean, M, C, threads_, c.workspace, t1, t2);
        comm_->all_reduce_sum(pair_view_);
        K = mean;
      }
      const double n = count_;
      for (int64_t ch = 0; ch < C; ++ch) {
        const double m = static_cast<double>(K[ch]) + t1[ch] / n;
        const double q = std::max(t2[ch] - t1[ch] * t1[ch] / n, 0.0);  // sum (x - mean)^2
        mean[ch] = static_cast<float>(m);
        istd[ch] = static_cast<float>(1.0 / std::sqrt(q / n + eps));
        rmean[ch] = static_cast<float>((1 - mom) * rmean[ch] + mom * m);
        rvar[ch] = static_cast<float>((1 - mom) * rvar[ch] + mom * q / (n - 1));
      }
    } else {
      for (int64_t ch = 0; ch < C; ++ch) {
        mean[ch] = rmean[ch];
        istd[ch] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(rvar[ch]) + eps));
      }
    }
    for (int64_t ch = 0; ch < C; ++ch) {
      scale[ch] = gamma[ch] * istd[ch];
      shift[ch] = beta[ch] - mean[ch] * scale[ch];
    }
#pragma omp parallel for num_threads(threads_) schedule(static) if (M * C > kParallelMin)
    for (int64_t r = 0; r < M; ++r) {
      const float* xr = x + r * C;
      float* yr = y + r * C;
#pragma omp simd
      for (int64_t ch = 0; ch < C; ++ch) yr[ch] = xr[ch] * scale[ch] + shift[ch];
    }
  }

  void backward(const BackwardCall& c) override {
    const int64_t C = g_.C;
    const float* x = c.in[0]->data<float>();
    const float* gamma = c.in[1]->data<float>();
    const float* dy = c.grad_out[0]->data<float>();
    float* dx = mut_ptr<float>(c.grad_in[0]);
    float* dgamma = mut_ptr<float>(c.grad_in[1]);
    float* dbeta = mut_ptr<float>(c.grad_in[2]);
    const float* mean = mean_.data();
    const float* istd = istd_.data();
    float* k = k_.data();
    float* a = a_.data();
    float* b = b_.data();
    const int64_t M = g_.count();
    const bool batch = batch_;
    double* S1 = sums_.data<double>();  // sum dy
    double* S2 = S1 + C;                // sum dy * (x - mean)
    if (batch || dgamma || dbeta)
      channel_sums<true>(x, dy, mean, M, C, threads_, c.workspace, S1, S2);
    else
      std::fill(S1, S1 + 2 * C, 0.0);
    for (int64_t ch = 0; ch < C; ++ch) {  // this rank's sums (nn/ops/batch_norm/batch_norm.h)
      if (dbeta) dbeta[ch] = static_cast<float>(S1[ch]);
      if (dgamma) dgamma[ch] = static_cast<float>(S2[ch] * istd[ch]);
    }
    if (!dx) return;
    if (batch && comm_) comm_->all_reduce_sum(pair_view_);
    // dx = k * dy + b * x + a per channel: k = gamma * istd, and with batch statistics
    // b = -k * istd^2 * S2 / M, a = -k * S1 / M - b * mean (M and the sums over all ranks with
    // SyncBatchNorm).
    const double n = count_;
    for (int64_t ch = 0; ch < C; ++ch) {
      const double kc = static_cast<double>(gamma[ch]) * istd[ch];
      const double bc = batch ? -kc * istd[ch] * istd[ch] * S2[ch] / n : 0.0;
      k[ch] = static_cast<float>(kc);
      b[ch] = static_cast<float>(bc);
      a[ch] = batch ? static_cast<float>(-kc * S1[ch] / n - bc * mean[ch]) : 0.f;
    }
#pragma omp parallel for num_threads(threads_) schedule(static) if (M * C > kParallelMin)
    for (int64_t r = 0; r < M; ++r) {
      const float* xr = x + r * C;
      const float* dr = dy + r * C;
      float* o = dx + r * C;
#pragma omp simd
      for (int64_t ch = 0; ch < C; ++ch) o[ch] = k[ch] * dr[ch] + b[ch] * xr[ch] + a[ch];
    }
  }

 private:
  std::string name_;
  BnGeom g_;
  Communicator* comm_;  // SyncBatchNorm's ranks, or null
  int threads_;
  std::vector<float> mean_, istd_;  // statistics of the last forward
  std::vector<float> k_, a_, b_;    // per-channel coefficients of the current pass
  Tensor sums_;                     // per-channel totals (2 C + 1 doubles), shared with comm_
  Tensor count_view_, pair_view_;   // its first C + 1 and 2 C values
  double count_ = 0;                // values per channel of the last forward's statistics
  bool batch_ = false;              // the last forward normalised with batch statistics
};

}  // namespace

std::unique_ptr<Kernel> make_batch_norm_loops(const KernelSetup& s) {
  return std::make_unique<BatchNormLoops>(s);
}

std::unique_ptr<Kernel> make_batch_norm_cpu(const KernelSetup& s) {
  const BnGeom g = bn_geom(s.node, s.in);
  if (bn_sync_comm(s, g)) return make_batch_norm_loops(s);  // statistics from all ranks
  return g.C % 16 == 0 ? make_batch_norm_dnnl(s) : make_batch_norm_loops(s);
}

}  // namespace qf
