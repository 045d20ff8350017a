// StepGraph on the CPU (every build): the context's step graph runs the step eagerly with the
// values of each call, in order; a CPU context has no CUDA stream and hands out plain host memory;
// asking for a GPU where none is usable is an InputError that says why.
#include "nn/step_graph.h"

#include <gtest/gtest.h>

#include <vector>

#include "nn/context.h"

namespace qf {
namespace {

TEST(StepGraph, CpuRunsEachStepEagerlyWithItsValues) {
  CpuContext ctx(1);
  std::vector<std::pair<int64_t, double>> seen;
  auto sg = ctx.make_step_graph(
      [&](const StepValues& v) {
        seen.push_back({v.step.step, v.lr});
      },
      true);
  for (int s = 0; s < 3; ++s) sg->run(StepValues{StepInfo{s, 7}, 0.1 * (s + 1)});
  EXPECT_FALSE(sg->recorded());
  ASSERT_EQ(seen.size(), 3u);
  for (int s = 0; s < 3; ++s) {
    EXPECT_EQ(seen[s].first, s);
    EXPECT_DOUBLE_EQ(seen[s].second, 0.1 * (s + 1));
  }
}

TEST(StepGraph, CpuContextHasNoStreamAndHostMemory) {
  CpuContext ctx(1);
  EXPECT_EQ(cuda_stream_of(ctx), nullptr);
  EXPECT_TRUE(ctx.host_allocator().device().is_cpu());
}

TEST(StepGraph, AskingForAnUnusableGpuSaysWhy) {
  if (cuda_available()) GTEST_SKIP() << "this machine has a usable GPU: " << cuda_status();
  try {
    make_context(Device::cuda(0), ContextOptions{});
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cuda:0"), std::string::npos) << msg;
    EXPECT_NE(msg.find(cuda_status()), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace qf
