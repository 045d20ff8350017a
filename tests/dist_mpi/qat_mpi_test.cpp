// Quant-aware training on ranks equals one big batch: a small MobileNetV1-style network (conv stem,
// one depthwise-separable block, classifier; BN and ReLU after every conv) rewritten by the
// quant_aware pass (channel_wise_abs_max weights, moving_average_abs_max activations, the
// PaddleSlim defaults) trains K = 6 steps on N ranks with batch B, SyncBatchNorm and synchronised
// scales (quant.sync_scales: every activation quantizer's batch max is all-reduced with MAX), and
// ends with the weights, BN statistics and quantizer state (scales, EMA state and accumulator) of
// one process trained with batch N·B: relative difference <= 1e-5, bit-identical on every rank.
// With quant.sync_scales off each rank's scales follow its own batches and differ between ranks
// and from one process's (the comparison can fail), while the weights stay identical; the drift
// is what `qforge qat` reports in that case.
#include <gtest/gtest.h>

#include <cstdio>

#include "comm/state_sync.h"
#include "models/builder.h"
#include "models/registry.h"
#include "nn/ops/batch_norm/batch_norm.h"
#include "quant/quant_aware.h"
#include "tests/dist_mpi/mpi_test_util.h"
#include "tests/dist_mpi/train_util.h"

namespace qf::test {
namespace {

// MobileNetV1's pieces at a size whose BatchNorms see enough values per channel: a conv stem
// (10x10), a depthwise-separable block (depthwise 3x3 stride 2 -> 5x5, pointwise 1x1), global
// pooling, the classifier; every conv followed by BN and ReLU. (MobileNetV1 itself on inputs this
// small ends in 1x1 feature maps whose BatchNorms normalise 8 values per channel; there one
// process with the fast kernels and one with the reference kernels already drift apart by 1e-3 or
// more after one step, so no run can be compared with another to 1e-5.)
Graph qat_graph(bool sync_bn, bool sync_scales) {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 1, 10, 10});
  x = b.conv_bn_act("features.0", x, 1, 12, 3, 1, 1, "relu");
  x = b.conv_bn_act("features.1.0", x, 12, 12, 3, 2, 12, "relu");
  x = b.conv_bn_act("features.1.1", x, 12, 16, 1, 1, 1, "relu");
  x = b.flatten("flatten", b.global_avg_pool("avgpool", x));
  x = b.linear("fc", x, 16, 4);
  g.mark_output(x);
  add_classification_loss(g, x, 0.1);
  QuantConfig q;  // channel_wise_abs_max weights, moving_average_abs_max activations, 8 bits
  q.sync_scales = sync_scales;
  const QuantAwareReport rep = quant_aware(g, q);
  EXPECT_EQ(rep.weight_quantizers, 4);      // three convolutions and the classifier
  EXPECT_EQ(rep.activation_quantizers, 4);  // their inputs
  if (sync_bn) mark_sync_batch_norm(g);
  return g;
}

constexpr int64_t kBatch = 4, kSteps = 6;

RunOptions qat_run(int64_t batch, bool sync_scales, uint64_t init_seed) {
  RunOptions o;
  o.graph = [sync_scales](bool sync_bn) { return qat_graph(sync_bn, sync_scales); };
  o.batch = batch;
  o.sync_bn = true;
  o.sync_scales = sync_scales;
  o.steps = kSteps;
  o.init_seed = init_seed;
  return o;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Quantizer state: weight scales, activation scales with their EMA state and accumulator,
// output observers.
bool is_quantizer_state(const std::string& name) {
  return ends_with(name, ".scale") || ends_with(name, ".state") || ends_with(name, ".accum");
}

TEST(DistributedQat, RanksWithSyncedScalesEqualOneProcessWithTheWholeBatch) {
  Communicator& c = world();
  const int W = c.size();
  // Each rank starts from different weights: the broadcast from rank 0 must fix that.
  const Trained dist = train(c, qat_run(kBatch, true, 7 + 1000 * c.rank()));
  LocalCommunicator local;
  const Trained one = train(local, qat_run(kBatch * W, true, 7));
  EXPECT_EQ(dist.steps, kSteps);
  ASSERT_EQ(dist.state.size(), one.state.size());
  double worst = 0, worst_quant = 0;
  std::string worst_name, worst_quant_name;
  int quantizer_tensors = 0;
  for (const auto& [name, t] : dist.state) {
    const double d = rel_diff(t, one.state.at(name));
    if (d > worst) {
      worst = d;
      worst_name = name;
    }
    if (is_quantizer_state(name)) {
      ++quantizer_tensors;
      if (d >= worst_quant) {
        worst_quant = d;
        worst_quant_name = name;
      }
    }
    EXPECT_TRUE(same_on_all_ranks(t)) << name << " differs between ranks";
  }
  EXPECT_LE(worst, 1e-5) << "worst: " << worst_name;
  EXPECT_GE(quantizer_tensors, 4 + 4 * 3);
  // The weights and every activation scale moved from their initial values.
  Graph g = qat_graph(false, true);
  CpuContext ctx(1);
  ParamStore initial(g, ctx, 7);
  const auto init = initial.state_dict();
  EXPECT_GT(rel_diff(dist.state.at("features.1.1.0.weight"), init.at("features.1.1.0.weight")),
            1e-3);
  int moved = 0;
  for (const auto& [name, t] : dist.state)
    if (ends_with(name, ".act_quant.scale") && rel_diff(t, init.at(name)) > 1e-2) ++moved;
  EXPECT_EQ(moved, 4);
  if (c.rank() == 0)
    std::printf(
        "QAT: %d ranks x batch %lld vs 1 x %lld, %lld steps: largest relative difference %.2e "
        "(%s); quantizer state %.2e (%s)\n",
        W, static_cast<long long>(kBatch), static_cast<long long>(kBatch * W),
        static_cast<long long>(kSteps), worst, worst_name.c_str(), worst_quant,
        worst_quant_name.c_str());
}

TEST(DistributedQat, WithoutSyncedScalesTheRanksScalesDiffer) {
  Communicator& c = world();
  if (c.size() == 1) GTEST_SKIP() << "needs several ranks";
  const Trained dist = train(c, qat_run(kBatch, false, 7));
  LocalCommunicator local;
  const Trained one = train(local, qat_run(kBatch * c.size(), false, 7));
  // Gradients are still averaged: the weights agree across ranks; the activation scales do not,
  // nor do they equal one process's.
  EXPECT_TRUE(same_on_all_ranks(dist.state.at("features.1.1.0.weight")));
  int differ = 0;
  for (const auto& [name, t] : dist.state)
    if (ends_with(name, ".act_quant.scale") && !same_on_all_ranks(t)) ++differ;
  EXPECT_EQ(differ, 4);  // each follows its own rank's batches
  EXPECT_GT(rel_diff(dist.state.at("features.1.1.0.act_quant.scale"),
                     one.state.at("features.1.1.0.act_quant.scale")),
            1e-4);
  // What `qforge qat` reports in this case (rank 0's are exported): the drift between ranks.
  Graph g = qat_graph(true, false);
  CpuContext ctx(1);
  ParamStore store(g, ctx, 7);
  store.load_state_dict(dist.state);
  const BufferDrift d = buffer_drift(store, c, ".scale");
  EXPECT_GT(d.relative, 1e-3);
  if (c.rank() == 0)
    std::printf("QAT without synchronised scales: %d of 4 activation scales differ between "
                "ranks, up to %.2f%% (%s)\n",
                differ, 100 * d.relative, d.worst.c_str());
}

}  // namespace
}  // namespace qf::test
