// Resuming from a checkpoint taken mid-epoch ends with exactly the weights of an uninterrupted
// run (same device, same thread count): data order, dropout masks, optimizer state, BN statistics
// and the learning-rate schedule all continue where they stopped.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "models/registry.h"
#include "trainer/trainer.h"

namespace qf {
namespace {

// 240 deterministic 1x12x12 "images" of 4 classes with class-dependent patterns.
class PatternDataset final : public Dataset {
 public:
  int64_t size() const override { return 240; }
  Shape sample_shape() const override { return {1, 12, 12}; }
  int num_classes() const override { return 4; }
  int32_t get(int64_t i, float* out, SampleRng&) const override {
    const int32_t label = static_cast<int32_t>(i % 4);
    for (int k = 0; k < 144; ++k)
      out[k] = static_cast<float>(((k * (label + 1) + i) % 17) / 17.0 - 0.5);
    return label;
  }
  std::string describe() const override { return "pattern dataset"; }
};

// A small graph with every stateful piece the resume must carry: conv, BN, dropout, linear.
Graph small_graph() {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 1, 12, 12});
  x = b.conv2d("conv", x, 1, 8, 3, 1, 1);
  x = b.batch_norm("bn", x, 8);
  x = b.relu("relu", x);
  x = b.global_avg_pool("pool", x);
  x = b.flatten("flatten", x);
  x = b.dropout("drop", x, 0.25);
  x = b.linear("fc", x, 8, 4);
  g.mark_output(x);
  add_classification_loss(g, x, 0.1);
  return g;
}

std::map<std::string, Tensor> train(const std::string& dir, int64_t stop_after,
                                    const Checkpoint* resume) {
  Graph g = small_graph();
  CpuContext ctx(2);
  ParamStore store(g, ctx, 3);
  if (resume) store.load_state_dict(resume->model);
  LocalCommunicator comm;
  Console console(false, false);
  PatternDataset data;
  TrainerSetup s{g, store, ctx, comm, console, data, nullptr};
  s.train.epochs = 2;
  s.train.seed = 3;
  s.train.stop_after_steps = stop_after;
  s.train.eval_each_epoch = false;
  s.optimizer.lr = 0.05;
  s.optimizer.weight_decay = 1e-4;
  s.schedule.type = "cosine";
  s.schedule.warmup_epochs = 0.5;
  s.loader.batch_size = 16;
  s.loader.workers = 2;
  s.checkpoint_dir = dir;
  Trainer t(s);
  if (resume) t.resume(*resume);
  t.fit();
  return store.state_dict();
}

TEST(Resume, MidEpochCheckpointGivesTheSameFinalWeights) {
  const std::string root =
      (std::filesystem::temp_directory_path() / ("qf_resume_" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(root);
  const auto full = train(root + "/full", 0, nullptr);
  const auto partial = train(root + "/part", 22, nullptr);  // epoch 2, batch 7 of 15
  const Checkpoint ck = load_checkpoint(root + "/part");
  EXPECT_EQ(ck.state.global_step, 22);
  EXPECT_EQ(ck.state.epoch, 1);
  EXPECT_EQ(ck.state.batch_in_epoch, 7);
  const auto resumed = train(root + "/part", 0, &ck);
  ASSERT_EQ(full.size(), resumed.size());
  bool any_diff_from_partial = false;
  for (const auto& [name, t] : full) {
    const Tensor& r = resumed.at(name);
    ASSERT_EQ(t.nbytes(), r.nbytes());
    EXPECT_EQ(std::memcmp(t.raw(), r.raw(), t.nbytes()), 0) << name << " differs after resume";
    any_diff_from_partial |= std::memcmp(t.raw(), partial.at(name).raw(), t.nbytes()) != 0;
  }
  EXPECT_TRUE(any_diff_from_partial) << "the interrupted run should not already be finished";
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace qf
