// Fast CPU add / mul with broadcasting (math and layout rule in nn/ops/elementwise/elementwise.h).
//
// The kernel walks memory order. At creation it builds a plan: the output's axes in memory order
// (N, H, W, C for rank 4), size-1 axes dropped, and neighbouring axes merged wherever every tensor
// (y, a, b) steps through them as one. The cases that matter collapse to short plans whose
// innermost axis is contiguous or broadcast (stride 1 or 0), which the inner loops vectorise:
//   equal shapes                       (numel)        a: 1        b: 1
//   scalar                             (numel)        a: 1        b: 0
//   (N,C,H,W) with (1,C,1,1), (C,1,1)  (N*H*W, C)     a: (C, 1)   b: (0, 1)
//   (N,C,H,W) with (N,C,1,1)  [SE]     (N, H*W, C)    a: (HWC, C, 1)   b: (C, 0, 1)
// Any other valid broadcast runs through the same plan with general strides.
//
// Work is split into tasks (a row of the inner axis, or a chunk of it when rows are long) shared
// evenly among threads. Gradients of an operand that was broadcast are sums; they run one of two
// ways, fixed at creation:
//   partials — operands up to kPartialMax elements (scalars, per-channel vectors, SE scales):
//              each thread sums its tasks into its own copy in the workspace, then the copies are
//              added;
//   owner    — larger operands: threads split the outermost axis the operand is not broadcast
//              along, so no two threads write the same element.
// Operands that were not broadcast get their gradient elementwise.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "nn/ops/elementwise/elementwise.h"
#include "nn/ops/op_util.h"

namespace qf {
namespace {

constexpr int K = kMaxBroadcastRank;
constexpr int64_t kChunk = 8192;         // elements per task along the inner axis
constexpr int64_t kParallelMin = 32768;  // below this many elements, one thread
constexpr int64_t kPartialMax = 16384;   // broadcast operands up to this size use partials

struct Plan {
  int k = 1;  // axes (>= 1)
  std::array<int64_t, K> n{}, sy{}, sa{}, sb{};

  int64_t rows() const {
    int64_t r = 1;
    for (int d = 0; d < k - 1; ++d) r *= n[d];
    return r;
  }
  int64_t inner() const { return n[k - 1]; }
  int64_t total() const { return rows() * inner(); }
};

Plan make_plan(const Shape& a, const Shape& b, const Shape& y) {
  const std::vector<int64_t> sy = broadcast_strides(y, y), sa = broadcast_strides(a, y),
                             sb = broadcast_strides(b, y);
  std::vector<int> order;
  if (y.size() == 4) {
    order = {0, 2, 3, 1};
  } else {
    for (size_t d = 0; d < y.size(); ++d) order.push_back(static_cast<int>(d));
  }
  Plan p;
  p.k = 0;
  for (int d : order) {
    if (y[d] == 1) continue;
    if (p.k > 0) {
      const int q = p.k - 1;  // merge d into the previous axis when all three tensors allow it
      if (p.sy[q] == sy[d] * y[d] && p.sa[q] == sa[d] * y[d] && p.sb[q] == sb[d] * y[d]) {
        p.n[q] *= y[d];
        p.sy[q] = sy[d];
        p.sa[q] = sa[d];
        p.sb[q] = sb[d];
        continue;
      }
    }
    p.n[p.k] = y[d];
    p.sy[p.k] = sy[d];
    p.sa[p.k] = sa[d];
    p.sb[p.k] = sb[d];
    ++p.k;
  }
  if (p.k == 0) {  // a one-element output
    p.k = 1;
    p.n[0] = 1;
    p.sy[0] = 1;
  }
  return p;
}

// The plan without axis d (the owner strategy runs it once per index along d).
Plan drop_axis(const Plan& p, int d) {
  Plan q;
  q.k = 0;
  for (int i = 0; i < p.k; ++i) {
    if (i == d) continue;
    q.n[q.k] = p.n[i];
    q.sy[q.k] = p.sy[i];
    q.sa[q.k] = p.sa[i];
    q.sb[q.k] = p.sb[i];
    ++q.k;
  }
  if (q.k == 0) {
    q.k = 1;
    q.n[0] = 1;
  }
  return q;
}

struct Offsets {
  int64_t y, a, b;
};

// Calls f(j0, j1, offsets of element j0 = 0 of the row) for tasks [t0, t1); task t covers
// elements [j0, j1) of row t / nchunk. `base` is added to every offset.
template <class F>
void run_tasks(const Plan& p, int64_t nchunk, int64_t chunk, int64_t t0, int64_t t1, Offsets base,
               F&& f) {
  if (t0 >= t1) return;
  const int ko = p.k - 1;
  std::array<int64_t, K> idx{};
  int64_t row = t0 / nchunk, rem = row;
  Offsets o = base;
  for (int d = ko - 1; d >= 0; --d) {
    idx[d] = rem % p.n[d];
    rem /= p.n[d];
    o.y += idx[d] * p.sy[d];
    o.a += idx[d] * p.sa[d];
    o.b += idx[d] * p.sb[d];
  }
  const int64_t inner = p.inner();
  for (int64_t t = t0; t < t1; ++t) {
    if (t / nchunk != row) {  // next row: odometer step over the outer axes
      ++row;
      for (int d = ko - 1; d >= 0; --d) {
        o.y += p.sy[d];
        o.a += p.sa[d];
        o.b += p.sb[d];
        if (++idx[d] < p.n[d]) break;
        o.y -= p.sy[d] * p.n[d];
        o.a -= p.sa[d] * p.n[d];
        o.b -= p.sb[d] * p.n[d];
        idx[d] = 0;
      }
    }
    const int64_t j0 = (t % nchunk) * chunk;
    f(j0, std::min(inner, j0 + chunk), o);
  }
}

struct Tasks {
  int64_t nchunk, chunk, count;
  explicit Tasks(const Plan& p) {
    const int64_t inner = std::max<int64_t>(p.inner(), 1);
    nchunk = (inner + kChunk - 1) / kChunk;
    chunk = (inner + nchunk - 1) / nchunk;
    count = p.rows() * nchunk;
  }
};

// Runs every task of `p` on up to `threads` threads; f(thread, j0, j1, offsets).
template <class F>
void parallel_tasks(const Plan& p, int threads, F&& f) {
  const Tasks ts(p);
#pragma omp parallel num_threads(threads) if (p.total() > kParallelMin)
  {
    const int64_t nt = omp_get_num_threads(), tid = omp_get_thread_num();
    run_tasks(p, ts.nchunk, ts.chunk, ts.count * tid / nt, ts.count * (tid + 1) / nt, Offsets{},
              [&](int64_t j0, int64_t j1, Offsets o) { f(static_cast<int>(tid), j0, j1, o); });
  }
}

template <bool Mul>
inline float apply(float a, float b) {
  return Mul ? a * b : a + b;
}

// y[i] = a[i * sa] op b[i * sb], i < n.
template <bool Mul>
void forward_inner(float* y, const float* a, int64_t sa, const float* b, int64_t sb, int64_t n) {
  if (sa == 1 && sb == 1) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = apply<Mul>(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = *b;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = apply<Mul>(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = *a;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = apply<Mul>(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = apply<Mul>(a[i * sa], b[i * sb]);
  }
}

// g[i * sg] (+)= dy[i * sdy] * o[i * so] (mul) or dy[i * sdy] (add), i < n; sg == 0 sums into *g.
// dy is contiguous (sdy == 1) except when the owner strategy dropped the inner axis.
template <bool Mul, bool Acc>
void grad_inner(float* g, int64_t sg, const float* dy, int64_t sdy, const float* o, int64_t so,
                int64_t n) {
  if (sdy != 1) {
    for (int64_t i = 0; i < n; ++i) {
      const float v = Mul ? dy[i * sdy] * o[i * so] : dy[i * sdy];
      g[i * sg] = Acc || (sg == 0 && i > 0) ? g[i * sg] + v : v;
    }
    return;
  }
  if (sg == 0) {
    float s = 0;
    if (!Mul) {
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < n; ++i) s += dy[i];
    } else if (so == 1) {
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < n; ++i) s += dy[i] * o[i];
    } else if (so == 0) {
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < n; ++i) s += dy[i];
      s *= *o;
    } else {
      for (int64_t i = 0; i < n; ++i) s += dy[i] * o[i * so];
    }
    *g = Acc ? *g + s : s;
  } else if (sg == 1 && (!Mul || so == 1)) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) g[i] = (Acc ? g[i] : 0.f) + (Mul ? dy[i] * o[i] : dy[i]);
  } else if (sg == 1 && so == 0) {
    const float ov = *o;
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) g[i] = (Acc ? g[i] : 0.f) + dy[i] * ov;
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float v = Mul ? dy[i] * o[i * so] : dy[i];
      g[i * sg] = Acc ? g[i * sg] + v : v;
    }
  }
}

enum class GradMode : uint8_t { elementwise, partials, owner };

template <bool Mul>
class ElementwiseFast final : public Kernel {
 public:
  explicit ElementwiseFast(const KernelSetup& s)
      : plan_(make_plan(s.in[0].shape, s.in[1].shape, s.out[0].shape)),
        threads_(omp_get_max_threads()) {
    QF_CHECK(plan_.sy[plan_.k - 1] == 1, "add/mul: the output's inner axis must be contiguous");
    for (int x = 0; x < 2; ++x) {
      const auto& sx = x == 0 ? plan_.sa : plan_.sb;
      nx_[x] = numel(s.in[x].shape);
      bool broadcast = false;
      for (int d = 0; d < plan_.k; ++d) broadcast = broadcast || (sx[d] == 0 && plan_.n[d] > 1);
      if (!broadcast) {
        mode_[x] = GradMode::elementwise;
      } else if (nx_[x] <= kPartialMax) {
        mode_[x] = GradMode::partials;
        if (s.training) ws_ = std::max(ws_, sizeof(float) * threads_ * nx_[x]);
      } else {
        mode_[x] = GradMode::owner;
        owner_[x] = 0;
        while (sx[owner_[x]] == 0) ++owner_[x];
        rest_[x] = drop_axis(plan_, owner_[x]);
      }
    }
  }

  size_t workspace_bytes() const override { return ws_; }

  void forward(const ForwardCall& c) override {
    const float* a = c.in[0]->data<float>();
    const float* b = c.in[1]->data<float>();
    float* y = c.out[0]->data<float>();
    const int k = plan_.k - 1;
    const int64_t sa = plan_.sa[k], sb = plan_.sb[k];
    parallel_tasks(plan_, threads_, [&](int, int64_t j0, int64_t j1, Offsets o) {
      forward_inner<Mul>(y + o.y + j0, a + o.a + j0 * sa, sa, b + o.b + j0 * sb, sb, j1 - j0);
    });
  }

  void backward(const BackwardCall& c) override {
    const float* dy = c.grad_out[0]->data<float>();
    for (int x = 0; x < 2; ++x)
      if (c.grad_in[x])
        grad(x, c.grad_in[x]->data<float>(), dy, c.in[1 - x]->data<float>(),
             static_cast<float*>(c.workspace));
  }

 private:
  // Offsets of operand x and of the other operand.
  static int64_t off_x(int x, const Offsets& o) { return x == 0 ? o.a : o.b; }
  static int64_t off_o(int x, const Offsets& o) { return x == 0 ? o.b : o.a; }

  void grad(int x, float* g, const float* dy, const float* other, float* ws) const {
    const int k = plan_.k - 1;
    const int64_t sx = x == 0 ? plan_.sa[k] : plan_.sb[k];
    const int64_t so = x == 0 ? plan_.sb[k] : plan_.sa[k];
    switch (mode_[x]) {
      case GradMode::elementwise:
        parallel_tasks(plan_, threads_, [&](int, int64_t j0, int64_t j1, Offsets o) {
          grad_inner<Mul, false>(g + off_x(x, o) + j0 * sx, sx, dy + o.y + j0, 1,
                                 other + off_o(x, o) + j0 * so, so, j1 - j0);
        });
        return;
      case GradMode::partials: {
        QF_CHECK(ws, "add/mul backward needs its workspace");
        const int64_t nx = nx_[x];
        const Tasks ts(plan_);
#pragma omp parallel num_threads(threads_) if (plan_.total() > kParallelMin)
        {
          const int64_t nt = omp_get_num_threads(), tid = omp_get_thread_num();
          float* mine = ws + tid * nx;
          std::fill(mine, mine + nx, 0.f);
          run_tasks(plan_, ts.nchunk, ts.chunk, ts.count * tid / nt, ts.count * (tid + 1) / nt,
                    Offsets{}, [&](int64_t j0, int64_t j1, Offsets o) {
                      grad_inner<Mul, true>(mine + off_x(x, o) + j0 * sx, sx, dy + o.y + j0, 1,
                                            other + off_o(x, o) + j0 * so, so, j1 - j0);
                    });
#pragma omp barrier
          for (int64_t j = nx * tid / nt, j1 = nx * (tid + 1) / nt; j < j1; ++j) {
            float s = 0;
            for (int64_t t = 0; t < nt; ++t) s += ws[t * nx + j];
            g[j] = s;
          }
        }
        return;
      }
      case GradMode::owner: {
        const Plan& rest = rest_[x];
        const int d = owner_[x];
        const Tasks ts(rest);
        const int rk = rest.k - 1;
        const int64_t rsx = x == 0 ? rest.sa[rk] : rest.sb[rk];
        const int64_t rso = x == 0 ? rest.sb[rk] : rest.sa[rk];
        const int64_t rsy = rest.sy[rk];
        std::memset(g, 0, sizeof(float) * nx_[x]);
#pragma omp parallel for num_threads(threads_) schedule(static) if (plan_.total() > kParallelMin)
        for (int64_t i = 0; i < plan_.n[d]; ++i) {
          const Offsets base{i * plan_.sy[d], i * plan_.sa[d], i * plan_.sb[d]};
          run_tasks(rest, ts.nchunk, ts.chunk, 0, ts.count, base,
                    [&](int64_t j0, int64_t j1, Offsets o) {
                      grad_inner<Mul, true>(g + off_x(x, o) + j0 * rsx, rsx, dy + o.y + j0 * rsy,
                                            rsy, other + off_o(x, o) + j0 * rso, rso, j1 - j0);
                    });
        }
        return;
      }
    }
  }

  Plan plan_;
  int threads_;
  size_t ws_ = 0;
  std::array<int64_t, 2> nx_{};
  std::array<GradMode, 2> mode_{};
  std::array<int, 2> owner_{};
  std::array<Plan, 2> rest_{};
};

}  // namespace

std::unique_ptr<Kernel> make_add_fast(const KernelSetup& s) {
  return std::make_unique<ElementwiseFast<false>>(s);
}

std::unique_ptr<Kernel> make_mul_fast(const KernelSetup& s) {
  return std::make_unique<ElementwiseFast<true>>(s);
}

}  // namespace qf
