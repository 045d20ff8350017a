// Distributed training equals one big batch: N ranks with batch B train K steps through the
// Trainer (broadcast at start, DistributedSampler, bucketed gradient sums, SyncBatchNorm) and end
// with the weights and BN statistics of one process trained with batch N·B on the same data, to
// float rounding (relative difference <= 1e-5), bit-identical on every rank. Without SyncBatchNorm
// the ranks' statistics drift apart, which shows the comparison can fail. Sharded evaluation
// counts every test sample once and agrees with one process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "comm/state_sync.h"
#include "models/builder.h"
#include "models/registry.h"
#include "nn/ops/batch_norm/batch_norm.h"
#include "tests/dist_mpi/mpi_test_util.h"
#include "tests/dist_mpi/train_util.h"

namespace qf::test {
namespace {

// conv-BN-ReLU twice (12 channels: the loops kernel; 16: oneDNN's without sync), pooling, linear.
Graph test_graph(bool sync_bn) {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 1, 10, 10});
  x = b.relu("relu1", b.batch_norm("bn1", b.conv2d("conv1", x, 1, 12, 3, 1, 1), 12));
  x = b.relu("relu2", b.batch_norm("bn2", b.conv2d("conv2", x, 12, 16, 3, 2, 1), 16));
  x = b.flatten("flatten", b.global_avg_pool("pool", x));
  x = b.linear("fc", x, 16, 4);
  g.mark_output(x);
  add_classification_loss(g, x, 0.1);
  if (sync_bn) mark_sync_batch_norm(g);
  return g;
}

Trained train(Communicator& comm, int64_t batch, bool sync_bn, int64_t steps, uint64_t init_seed) {
  RunOptions o;
  o.graph = test_graph;
  o.batch = batch;
  o.sync_bn = sync_bn;
  o.steps = steps;
  o.init_seed = init_seed;
  return train(comm, o);
}

constexpr int64_t kBatch = 6, kSteps = 6;

TEST(DistributedTraining, RanksWithSyncBnEqualOneProcessWithTheWholeBatch) {
  Communicator& c = world();
  const int W = c.size();
  // Each rank starts from different weights: the broadcast from rank 0 must fix that.
  const Trained dist = train(c, kBatch, true, kSteps, 7 + 1000 * c.rank());
  LocalCommunicator local;
  const Trained one = train(local, kBatch * W, true, kSteps, 7);
  EXPECT_EQ(dist.steps, kSteps);
  ASSERT_EQ(dist.state.size(), one.state.size());
  double worst = 0;
  std::string worst_name;
  for (const auto& [name, t] : dist.state) {
    const double d = rel_diff(t, one.state.at(name));
    if (d > worst) {
      worst = d;
      worst_name = name;
    }
    EXPECT_TRUE(same_on_all_ranks(t)) << name << " differs between ranks";
  }
  EXPECT_LE(worst, 1e-5) << "worst: " << worst_name;
  // The weights did move (the comparison is not trivially between initial values).
  Graph g = test_graph(false);
  CpuContext ctx(1);
  ParamStore initial(g, ctx, 7);
  EXPECT_GT(rel_diff(dist.state.at("conv1.weight"), initial.state_dict().at("conv1.weight")), 1e-3);
  if (c.rank() == 0)
    std::printf(
        "%d ranks x batch %lld vs 1 x %lld, %lld steps: largest relative difference %.2e "
        "(%s)\n",
        W, static_cast<long long>(kBatch), static_cast<long long>(kBatch * W),
        static_cast<long long>(kSteps), worst, worst_name.c_str());
}

TEST(DistributedTraining, WithoutSyncBnTheRanksStatisticsDiffer) {
  Communicator& c = world();
  if (c.size() == 1) GTEST_SKIP() << "needs several ranks";
  const Trained dist = train(c, kBatch, false, kSteps, 7);
  LocalCommunicator local;
  const Trained one = train(local, kBatch * c.size(), false, kSteps, 7);
  // Parameters stay identical across ranks (same averaged gradients), BN statistics do not.
  EXPECT_TRUE(same_on_all_ranks(dist.state.at("conv1.weight")));
  EXPECT_FALSE(same_on_all_ranks(dist.state.at("bn1.running_mean")));
  EXPECT_GT(rel_diff(dist.state.at("bn2.running_var"), one.state.at("bn2.running_var")), 1e-3);
}

TEST(DistributedTraining, BufferDriftMeasuresPerRankState) {
  Communicator& c = world();
  Graph g = test_graph(false);
  CpuContext ctx(1);
  ParamStore store(g, ctx, 1);
  // Identical buffers: no drift.
  const BufferDrift none = buffer_drift(store, c, ".running_var");
  EXPECT_EQ(none.buffers, 2);
  EXPECT_EQ(none.relative, 0);
  // Rank r scales bn2's running variance by 1 + r / 4: spread (W-1)/4 / (1 + (W-1)/4).
  const ParamEntry* e = store.find("bn2.running_var");
  ASSERT_TRUE(e);
  for (int64_t i = 0; i < e->data.numel(); ++i)
    e->data.data<float>()[i] *= static_cast<float>(1 + c.rank() / 4.0);
  const BufferDrift d = buffer_drift(store, c, ".running_var");
  const double w = (c.size() - 1) / 4.0;
  EXPECT_NEAR(d.relative, w / (1 + w), 1e-6);
  if (c.size() > 1) EXPECT_EQ(d.worst, "bn2.running_var");
}

TEST(DistributedTraining, ResumeOnRanksContinuesBitForBit) {
  Communicator& c = world();
  const Trained whole = train(c, kBatch, true, kSteps, 7);
  // The same run stopped after 3 steps with a checkpoint (rank 0 writes it) and resumed. Rank 1
  // and up resume with other weights and scaled momentum: the broadcasts on resume must fix both.
  Tensor pid = Tensor::empty({1}, DType::i64);
  pid.data<int64_t>()[0] = static_cast<int64_t>(getpid());
  c.broadcast(pid, 0);
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("qforge_dist_resume_" + std::to_string(pid.data<int64_t>()[0])))
                              .string();
  RunOptions first;
  first.graph = test_graph;
  first.checkpoint_dir = dir;
  first.stop_after = 3;
  EXPECT_EQ(train(c, first).steps, 3);
  c.barrier();
  Checkpoint ckpt = load_checkpoint(dir);
  if (c.rank() != 0)
    for (auto& [name, t] : ckpt.optimizer)
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] *= 3.f;
  RunOptions second;
  second.graph = test_graph;
  second.resume = &ckpt;
  second.load_resume_weights = c.rank() == 0;
  second.init_seed = 7 + 1000 * c.rank();
  const Trained resumed = train(c, second);
  EXPECT_EQ(resumed.steps, kSteps);
  for (const auto& [name, t] : whole.state) {
    const Tensor& r = resumed.state.at(name);
    EXPECT_EQ(std::memcmp(r.raw(), t.raw(), t.nbytes()), 0) << name;
  }
  c.barrier();
  if (c.rank() == 0) std::filesystem::remove_all(dir);
}

TEST(DistributedTraining, ShardedEvaluationCountsEverySampleOnce) {
  Communicator& c = world();
  Graph g = test_graph(false);
  CpuContext ctx(1);
  ParamStore store(g, ctx, 3);
  StripeDataset data(101);  // not divisible by the rank count
  LoaderOptions lo;
  lo.batch_size = 16;
  lo.workers = 0;
  Evaluator sharded(g, store, ctx, c);
  const EvalResult r = sharded.run(
      data, DistributedSampler(data.size(), false, 0, c.rank(), c.size(), ShardTail::uneven), lo);
  LocalCommunicator local;
  Evaluator whole(g, store, ctx, local);
  const EvalResult one = whole.run(data, lo);
  EXPECT_EQ(r.count, 101);
  EXPECT_DOUBLE_EQ(r.top1, one.top1);
  EXPECT_DOUBLE_EQ(r.top5, one.top5);
  EXPECT_NEAR(r.loss, one.loss, 1e-6 * (1 + one.loss));
}

}  // namespace
}  // namespace qf::test
