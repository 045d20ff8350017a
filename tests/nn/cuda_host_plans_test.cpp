// The host-side plans of the CUDA kernels (nn/kernels/cuda/host_plans.h), checked on the CPU in
// every build: the SGD chunk table covers every parameter element exactly once with its own
// multipliers, and the broadcast walk and reduce plans — run with the very index arithmetic the
// GPU kernels use — reproduce the reference add / mul forward and gradients.
#include <gtest/gtest.h>

#include "nn/kernels/cuda/host_plans.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

TEST(CudaHostPlans, SgdChunksCoverEveryParameterOnce) {
  const SgdSegment segs[] = {{0, 10000, 1.f, 1.f}, {10240, 1, 2.f, 0.f}, {10304, 4096, 1.f, 3.f}};
  const auto chunks = cuda::sgd_chunks(segs, 4096);
  std::vector<int> hits(20000, 0);
  for (const cuda::SgdChunk& c : chunks) {
    EXPECT_LE(c.numel, 4096);
    const SgdSegment* owner = nullptr;
    for (const SgdSegment& s : segs)
      if (c.offset >= s.offset && c.offset + c.numel <= s.offset + s.numel) owner = &s;
    ASSERT_NE(owner, nullptr) << "chunk at " << c.offset << " crosses a segment";
    EXPECT_EQ(c.lr_mult, owner->lr_mult);
    EXPECT_EQ(c.decay_mult, owner->decay_mult);
    for (int64_t i = c.offset; i < c.offset + c.numel; ++i) ++hits[i];
  }
  for (const SgdSegment& s : segs)
    for (int64_t i = s.offset; i < s.offset + s.numel; ++i) EXPECT_EQ(hits[i], 1) << i;
  EXPECT_EQ(chunks.size(), 3u + 1u + 1u);
}

// Runs the GPU kernels' arithmetic on the host: forward over the walk, gradients over the
// reduce plans, in float, in the kernels' order.
struct Emulated {
  Tensor y, da, db;
};
Emulated emulate(bool mul, const Tensor& a, const Tensor& b, const Shape& y_shape,
                 const Tensor& dy) {
  const cuda::BroadcastWalk w = cuda::broadcast_walk(a.shape(), b.shape(), y_shape);
  const cuda::BroadcastWalk wb = cuda::broadcast_walk(b.shape(), a.shape(), y_shape);
  Emulated e{Tensor::empty(y_shape, DType::f32), Tensor::empty(a.shape(), DType::f32),
             Tensor::empty(b.shape(), DType::f32)};
  const float *pa = a.data<float>(), *pb = b.data<float>(), *pdy = dy.data<float>();
  for (int64_t i = 0; i < w.numel; ++i) {
    int64_t oa, ob;
    cuda::walk_offsets(w, i, oa, ob);
    e.y.data<float>()[i] = mul ? pa[oa] * pb[ob] : pa[oa] + pb[ob];
  }
  auto grad = [&](const cuda::BroadcastWalk& walk, const float* other, Tensor& dx) {
    const cuda::ReducePlan p = cuda::reduce_plan(walk);
    std::vector<int> hits(dx.numel(), 0);
    for (int64_t t = 0; t < dx.numel(); ++t) {
      int64_t ox, oy, oo;
      cuda::kept_offsets(p, t, ox, oy, oo);
      float acc = 0;
      for (int64_t j = 0; j < p.r_total; ++j) {
        int64_t y = oy, o = oo;
        cuda::reduced_offsets(p, j, y, o);
        acc += mul ? pdy[y] * other[o] : pdy[y];
      }
      dx.data<float>()[ox] = acc;
      ++hits[ox];
    }
    for (int h : hits) EXPECT_EQ(h, 1) << "every gradient element written exactly once";
  };
  grad(w, pb, e.da);
  grad(wb, pa, e.db);
  return e;
}

TEST(CudaHostPlans, BroadcastWalkAndReducePlansMatchTheReference) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{4, 6, 5, 3}, {4, 6, 5, 3}}, {{4, 6, 5, 3}, {4, 6, 1, 1}},
      {{4, 6, 5, 3}, {6, 1, 1}},    {{3, 5}, {5}},
      {{2, 1, 4}, {3, 1}},          {{4, 8, 3, 3}, {1}},
      {{1, 6, 1, 3}, {2, 1, 5, 1}}, {{2, 3, 4, 5, 6}, {3, 1, 1, 6}}};
  uint64_t seed = 1;
  for (const char* op : {"add", "mul"})
    for (const auto& [sa, sb] : cases) {
      OpCase c;
      c.op = op;
      c.inputs = {random_tensor(sa, seed, -1, 1, DType::f32),
                  random_tensor(sb, seed + 1, -1, 1, DType::f32)};
      seed += 2;
      const OpRun probe = run_op(c, KernelKind::cpu_ref);
      const Tensor dy = random_tensor(probe.outputs[0].shape(), seed++, -1, 1, DType::f32);
      const OpRun ref = run_op(c, KernelKind::cpu_ref, {dy});
      const Emulated e =
          emulate(std::string(op) == "mul", c.inputs[0], c.inputs[1], probe.outputs[0].shape(), dy);
      const std::string what = std::string(op) + " " + shape_str(sa) + " " + shape_str(sb);
      EXPECT_LE(max_rel_diff(e.y, ref.outputs[0]), 1e-6) << what;
      EXPECT_LE(max_rel_diff(e.da, ref.grads[0]), 1e-5) << what;
      EXPECT_LE(max_rel_diff(e.db, ref.grads[1]), 1e-5) << what;
    }
}

TEST(CudaHostPlans, BroadcastWalkMergesContiguousDims) {
  // Same shapes: one contiguous run. Squeeze-excitation: (N, H*W, C) with b broadcast over H*W.
  const cuda::BroadcastWalk same = cuda::broadcast_walk({4, 6, 5, 3}, {4, 6, 5, 3}, {4, 6, 5, 3});
  EXPECT_EQ(same.rank, 1);
  EXPECT_EQ(same.numel, 4 * 6 * 5 * 3);
  const cuda::BroadcastWalk se = cuda::broadcast_walk({4, 6, 5, 3}, {4, 6, 1, 1}, {4, 6, 5, 3});
  ASSERT_EQ(se.rank, 3);
  EXPECT_EQ(se.extent[0], 4);
  EXPECT_EQ(se.extent[1], 15);
  EXPECT_EQ(se.extent[2], 6);
  EXPECT_EQ(se.stride_b[1], 0);
  EXPECT_EQ(se.stride_b[2], 1);
  EXPECT_EQ(se.stride_b[0], 6);
}

}  // namespace
}  // namespace qf::test
