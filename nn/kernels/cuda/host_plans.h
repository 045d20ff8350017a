// Host-side plans of the CUDA kernels: plain data and plain C++ (no CUDA headers), so the CPU
// test suite checks them (tests/nn/cuda_host_plans_test.cpp) in every build.
//  - sgd_chunks: the fused SGD kernel cuts every parameter segment of the arena into chunks of
//    at most `max_chunk` elements, one thread block each, so one launch updates every parameter
//    and each block sees one set of multipliers.
//  - broadcast_walk: add / mul walk their output in memory order (channels-last for rank 4, see
//    nn/ops/elementwise/elementwise.h); the walk lists the output's dims outermost first with the
//    operands' strides along them (0 where an operand is broadcast), drops dims of extent 1 and
//    merges neighbouring dims that are contiguous in all three tensors.
//  - reduce_plan: the gradient of operand a of a walk — its elements are indexed by the kept dims
//    (a varies along them) and summed over the reduced dims (a is broadcast along them).
// The index arithmetic the kernels run (walk_offsets, kept_offsets, reduced_offsets) is here too,
// as host-and-device functions, so the CPU test runs exactly the kernels' arithmetic.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "nn/context.h"
#include "nn/kernels/host_device.h"
#include "nn/ops/elementwise/elementwise.h"

namespace qf::cuda {

struct SgdChunk {
  int64_t offset;  // elements into the arena
  int32_t numel;
  float lr_mult;
  float decay_mult;
};

inline std::vector<SgdChunk> sgd_chunks(std::span<const SgdSegment> segments,
                                        int32_t max_chunk = kSgdNormBlock) {
  std::vector<SgdChunk> r;
  for (const SgdSegment& s : segments)
    for (int64_t done = 0; done < s.numel; done += max_chunk)
      r.push_back({s.offset + done,
                   static_cast<int32_t>(std::min<int64_t>(max_chunk, s.numel - done)), s.lr_mult,
                   s.decay_mult});
  return r;
}

constexpr int kMaxDims = 8;

struct BroadcastWalk {
  int rank = 0;                   // dims after dropping and merging
  int64_t extent[kMaxDims] = {};  // outermost first; the output is contiguous along them
  int64_t stride_a[kMaxDims] = {};
  int64_t stride_b[kMaxDims] = {};
  int64_t numel = 0;
};

// The walk of output `y` for operands of logical shapes `a` and `b` (already validated to
// broadcast to y).
inline BroadcastWalk broadcast_walk(const Shape& a, const Shape& b, const Shape& y) {
  const size_t r = y.size();
  std::vector<int64_t> sa = broadcast_strides(a, y), sb = broadcast_strides(b, y);
  // Memory order of y's logical axes, outermost first: (N, H, W, C) for rank 4.
  std::vector<size_t> order(r);
  for (size_t i = 0; i < r; ++i) order[i] = i;
  if (r == 4) order = {0, 2, 3, 1};
  struct Dim {
    int64_t extent, sa, sb;
  };
  std::vector<Dim> dims;
  for (size_t i : order)
    if (y[i] != 1) dims.push_back({y[i], sa[i], sb[i]});
  // Merge dim d into the next inner one when every tensor steps over it as one run: y always
  // (contiguous), an operand when its outer stride equals inner stride * inner extent (0 and 0
  // for a broadcast operand).
  std::vector<Dim> merged;
  for (const Dim& d : dims) {
    if (!merged.empty()) {
      Dim& o = merged.back();
      const bool a_ok = o.sa == d.sa * d.extent;
      const bool b_ok = o.sb == d.sb * d.extent;
      if (a_ok && b_ok) {
        o = {o.extent * d.extent, d.sa, d.sb};
        continue;
      }
    }
    merged.push_back(d);
  }
  BroadcastWalk w;
  QF_CHECK(merged.size() <= static_cast<size_t>(kMaxDims), "broadcast of too many dims");
  w.rank = static_cast<int>(merged.size());
  w.numel = 1;
  for (size_t i = 0; i < merged.size(); ++i) {
    w.extent[i] = merged[i].extent;
    w.stride_a[i] = merged[i].sa;
    w.stride_b[i] = merged[i].sb;
    w.numel *= merged[i].extent;
  }
  return w;
}

// Offsets in a and b of output element i (memory order) of walk w.
QF_HOST_DEVICE inline void walk_offsets(const BroadcastWalk& w, int64_t i, int64_t& oa,
                                        int64_t& ob) {
  oa = ob = 0;
  for (int k = w.rank - 1; k >= 0; --k) {
    const int64_t c = i % w.extent[k];
    i /= w.extent[k];
    oa += c * w.stride_a[k];
    ob += c * w.stride_b[k];
  }
}

struct ReducePlan {
  int nk = 0, nr = 0;
  // kept dims: extent, stride in a (the gradient), in y (dy) and in b (the other operand)
  int64_t k_ext[kMaxDims] = {}, k_sx[kMaxDims] = {}, k_sy[kMaxDims] = {}, k_so[kMaxDims] = {};
  // reduced dims: extent, stride in y and in b
  int64_t r_ext[kMaxDims] = {}, r_sy[kMaxDims] = {}, r_so[kMaxDims] = {};
  int64_t r_total = 1;  // number of terms in each sum
};

inline ReducePlan reduce_plan(const BroadcastWalk& w) {
  ReducePlan p;
  int64_t y_stride[kMaxDims] = {};
  int64_t ys = 1;
  for (int k = w.rank - 1; k >= 0; --k) {
    y_stride[k] = ys;
    ys *= w.extent[k];
  }
  for (int k = 0; k < w.rank; ++k) {
    if (w.stride_a[k] != 0) {
      p.k_ext[p.nk] = w.extent[k];
      p.k_sx[p.nk] = w.stride_a[k];
      p.k_sy[p.nk] = y_stride[k];
      p.k_so[p.nk] = w.stride_b[k];
      ++p.nk;
    } else {
      p.r_ext[p.nr] = w.extent[k];
      p.r_sy[p.nr] = y_stride[k];
      p.r_so[p.nr] = w.stride_b[k];
      p.r_total *= w.extent[k];
      ++p.nr;
    }
  }
  return p;
}

// Element t of the gradient: its offset ox in a, and the base offsets in y and b of its sum.
QF_HOST_DEVICE inline void kept_offsets(const ReducePlan& p, int64_t t, int64_t& ox, int64_t& oy,
                                        int64_t& oo) {
  ox = oy = oo = 0;
  for (int k = p.nk - 1; k >= 0; --k) {
    const int64_t c = t % p.k_ext[k];
    t /= p.k_ext[k];
    ox += c * p.k_sx[k];
    oy += c * p.k_sy[k];
    oo += c * p.k_so[k];
  }
}

// Adds to oy and oo the offsets of term j of a sum.
QF_HOST_DEVICE inline void reduced_offsets(const ReducePlan& p, int64_t j, int64_t& oy,
                                           int64_t& oo) {
  for (int k = p.nr - 1; k >= 0; --k) {
    const int64_t c = j % p.r_ext[k];
    j /= p.r_ext[k];
    oy += c * p.r_sy[k];
    oo += c * p.r_so[k];
  }
}

}  // namespace qf::cuda
