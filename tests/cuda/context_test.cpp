// CudaContext: copies in every direction, zero, add_inplace, the fused SGD update against the
// CPU's, the caching allocator (a training step allocates nothing after the first), pinned host
// memory and device selection. Skipped where no GPU is usable; the allocator's logic is tested on
// the CPU by tests/nn/caching_allocator_test.cpp, the SGD chunking by cuda_host_plans_test.cpp.
#include <gtest/gtest.h>

#include "nn/caching_allocator.h"
#include "tests/cuda/gpu_step.h"

namespace qf::test {
namespace {

TEST(CudaContext, CopiesZeroAndAddInPlace) {
  QF_SKIP_WITHOUT_GPU();
  DeviceContext& ctx = test_cuda_context();
  const Tensor a = random_tensor({1000}, 1, -1, 1, DType::f32);
  const Tensor b = random_tensor({1000}, 2, -1, 1, DType::f32);
  Tensor da = ctx.empty({1000}, DType::f32), db = ctx.empty({1000}, DType::f32);
  ctx.copy(da, a);   // host -> device
  ctx.copy(db, da);  // device -> device
  ctx.add_inplace(db, da);
  Tensor back = Tensor::empty({1000}, DType::f32);
  ctx.copy(back, db);  // device -> host
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(back.data<float>()[i], 2 * a.data<float>()[i]) << i;
  ctx.zero(db);
  ctx.copy(back, db);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(back.data<float>()[i], 0.f) << i;
  (void)b;
}

TEST(CudaContext, SgdUpdateMatchesTheCpu) {
  QF_SKIP_WITHOUT_GPU();
  DeviceContext& gpu = test_cuda_context();
  CpuContext cpu(1);
  const int64_t n = 20000;
  const SgdSegment segs[] = {{0, 5000, 1.f, 1.f}, {5120, 9000, 10.f, 0.f}, {14336, 5000, 1.f, 2.f}};
  // clip_norm 10 bites (the gradients' norm is about 0.5 * sqrt(19000 / 3) = 40); 0 is off.
  for (bool nesterov : {false, true})
    for (float clip_norm : {0.f, 10.f}) {
      const Tensor p = random_tensor({n}, 3, -1, 1, DType::f32);
      const Tensor g = random_tensor({n}, 4, -1, 1, DType::f32);
      const Tensor v = random_tensor({n}, 5, -1, 1, DType::f32);
      Tensor dp = gpu.empty({n}, DType::f32), dg = gpu.empty({n}, DType::f32),
             dv = gpu.empty({n}, DType::f32);
      gpu.copy(dp, p);
      gpu.copy(dg, g);
      gpu.copy(dv, v);
      const Tensor cp = p.clone(), cv = v.clone();
      for (int step = 0; step < 3; ++step) {
        const float lr = 0.1f / static_cast<float>(step + 1);
        gpu.sgd_momentum_update({&dp, &dg, &dv, segs, lr, 0.9f, 1e-3f, 0.5f, nesterov, clip_norm});
        cpu.sgd_momentum_update({&cp, &g, &cv, segs, lr, 0.9f, 1e-3f, 0.5f, nesterov, clip_norm});
      }
      Tensor hp = Tensor::empty({n}, DType::f32), hv = Tensor::empty({n}, DType::f32);
      gpu.copy(hp, dp);
      gpu.copy(hv, dv);
      EXPECT_LE(max_rel_diff(hp, cp), 1e-6) << "nesterov " << nesterov << " clip " << clip_norm;
      EXPECT_LE(max_rel_diff(hv, cv), 1e-6) << "nesterov " << nesterov << " clip " << clip_norm;
    }
}

TEST(CudaContext, TrainingStepsAllocateNothingAfterTheFirst) {
  QF_SKIP_WITHOUT_GPU();
  DeviceContext& ctx = test_cuda_context();
  auto* alloc = dynamic_cast<CachingAllocator*>(&ctx.allocator());
  ASSERT_NE(alloc, nullptr) << "the CUDA context's allocator is a CachingAllocator";
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 3, 16, 16});
  x = b.conv2d("conv", x, 3, 16, 3, 1, 1);
  x = b.batch_norm("bn", x, 16);
  x = b.relu("relu", x);
  x = b.global_avg_pool("pool", x);
  x = b.flatten("flatten", x);
  x = b.linear("fc", x, 16, 10);
  g.mark_output(x);
  add_classification_loss(g, x, 0.0);
  ParamStore store(g, ctx, 1);
  Executor ex(g, store, ctx, ExecOptions{});
  ex.prepare(8);
  SgdMomentum opt(store, OptimizerConfig{});
  int64_t after_first = -1;
  for (int s = 0; s < 5; ++s) {
    const HostBatch hb = make_batch(8, {3, 16, 16}, 10, s);
    ex.set_input("image", hb.images);
    ex.set_input("label", hb.labels);
    ex.forward(Mode::train, StepInfo{s, 1});
    ex.backward();
    opt.step(0.1);
    ctx.synchronize();
    if (s == 0) after_first = alloc->stats().raw_allocations;
  }
  EXPECT_EQ(alloc->stats().raw_allocations, after_first);
}

TEST(CudaContext, PinnedHostMemoryStreamAndDeviceChoice) {
  QF_SKIP_WITHOUT_GPU();
  DeviceContext& ctx = test_cuda_context();
  EXPECT_TRUE(ctx.host_allocator().device().is_cpu());
  Tensor pinned = Tensor::empty({256}, DType::f32, ctx.host_allocator());
  for (int i = 0; i < 256; ++i) pinned.data<float>()[i] = static_cast<float>(i);
  Tensor d = ctx.empty({256}, DType::f32);
  ctx.copy(d, pinned);
  Tensor back = Tensor::empty({256}, DType::f32);
  ctx.copy(back, d);
  for (int i = 0; i < 256; ++i) EXPECT_EQ(back.data<float>()[i], static_cast<float>(i));
  EXPECT_NE(cuda_stream_of(ctx), nullptr);
  EXPECT_THROW(make_context(Device::cuda(999), ContextOptions{}), InputError);
}

}  // namespace
}  // namespace qf::test
