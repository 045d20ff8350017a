// Device selection from the run configuration (launch/lib/setup.cpp open_device): the cuda.tf32 and
// cuda.graphs keys, "auto" choosing the GPU when one is usable and otherwise the CPU — said once,
// with the reason — and an explicit "cuda" on a machine without a usable GPU being an InputError.
#include <gtest/gtest.h>

#include <cstdio>

#include "launch/lib/run_config.h"
#include "launch/lib/setup.h"

namespace qf {
namespace {

std::string read_all(FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, f)) s.append(buf, n);
  return s;
}

TEST(DeviceOption, CudaKeysParse) {
  ConfigSchema s;
  RunConfig c;
  bind_run_config(s, c);
  EXPECT_TRUE(c.run.cuda_tf32);
  EXPECT_TRUE(c.run.cuda_graphs);
  s.parse_args({"--cuda.tf32", "false", "--cuda.graphs=false", "--device", "cpu"});
  EXPECT_FALSE(c.run.cuda_tf32);
  EXPECT_FALSE(c.run.cuda_graphs);
  EXPECT_EQ(c.run.device, "cpu");
}

TEST(DeviceOption, AutoSaysOnceWhichDeviceAndWhy) {
  RunSection run;
  run.device = "auto";
  run.threads = 1;
  FILE* f = std::tmpfile();
  Console console(true, false, f);
  auto ctx = open_device(run, console);
  const std::string log = read_all(f);
  std::fclose(f);
  if (cuda_available()) {
    EXPECT_TRUE(ctx->device().is_cuda());
    EXPECT_NE(log.find("device: cuda:0, " + cuda_status()), std::string::npos) << log;
  } else {
    EXPECT_TRUE(ctx->device().is_cpu());
    EXPECT_NE(log.find("device: cpu, 1 threads (" + cuda_status() + ")"), std::string::npos) << log;
  }
  EXPECT_EQ(log.find("device:"), log.rfind("device:")) << "said once: " << log;
}

TEST(DeviceOption, ExplicitCudaWithoutAGpuIsAnInputError) {
  if (cuda_available()) GTEST_SKIP() << "this machine has a usable GPU";
  RunSection run;
  run.device = "cuda:0";
  Console console(false, false);
  EXPECT_THROW(open_device(run, console), InputError);
}

}  // namespace
}  // namespace qf
