// An evaluation over logits that are NaN (a diverged model) scores 0%, not 100%, counts the images
// whose logits were not finite, and keeps the non-finite loss as what it is.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "models/registry.h"
#include "trainer/evaluator.h"

namespace qf {
namespace {

// 40 "images" of 1x4x4 in 4 classes, each class a different constant.
class TinyDataset final : public Dataset {
 public:
  int64_t size() const override { return 40; }
  Shape sample_shape() const override { return {1, 4, 4}; }
  int num_classes() const override { return 4; }
  int32_t get(int64_t i, float* out, SampleRng&) const override {
    for (int k = 0; k < 16; ++k) out[k] = static_cast<float>(i % 4);
    return static_cast<int32_t>(i % 4);
  }
  std::string describe() const override { return "tiny dataset"; }
};

TEST(Evaluator, NanWeightsScoreNothingAndSaySo) {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 1, 4, 4});
  x = b.flatten("flatten", x);
  x = b.linear("fc", x, 16, 4);
  g.mark_output(x);
  add_classification_loss(g, x, 0.0);
  CpuContext ctx(1);
  ParamStore store(g, ctx, 1);
  LocalCommunicator comm;
  TinyDataset data;
  LoaderOptions lo;
  lo.batch_size = 8;
  lo.workers = 0;

  const EvalResult ok = Evaluator(g, store, ctx, comm).run(data, lo);
  EXPECT_EQ(ok.nonfinite, 0);
  EXPECT_TRUE(std::isfinite(ok.loss));

  store.find("fc.weight")->data.fill(std::numeric_limits<float>::quiet_NaN());
  const EvalResult r = Evaluator(g, store, ctx, comm).run(data, lo);
  EXPECT_EQ(r.count, 40);
  EXPECT_EQ(r.nonfinite, 40);
  EXPECT_EQ(r.top1, 0.0);
  EXPECT_EQ(r.top5, 0.0);
  EXPECT_TRUE(std::isnan(r.loss));
  EXPECT_NE(eval_figures(r).find("loss nan (non-finite); 40 of 40 images had NaN/inf logits"),
            std::string::npos)
      << eval_figures(r);
}

}  // namespace
}  // namespace qf
