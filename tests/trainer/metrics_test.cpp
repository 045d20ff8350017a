// Top-1 / top-5 as argmax defines them: a class ranks by its logit, ties broken by the lower class
// index (torch.argmax, numpy.argmax, the ONNX Runtime scripts) — so tied logits, which quantized
// logits produce often, are not all counted as hits.
#include "trainer/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "trainer/evaluator.h"

namespace qf {
namespace {

TEST(TopK, RanksByLogitWithTiesToTheLowerIndex) {
  const float logits[] = {
      1, 3, 2, 0, 0, 0,  // label 1: the clear maximum
      5, 5, 1, 1, 1, 1,  // label 1: tied with class 0, which argmax picks -> miss in top-1
      5, 5, 1, 1, 1, 1,  // label 0: tied with class 1, and argmax picks 0 -> hit
      2, 2, 2, 2, 2, 2,  // label 5: all equal, rank 5 -> miss in top-1 and top-5
      2, 2, 2, 2, 2, 2,  // label 4: rank 4 -> top-5 hit only
  };
  const int32_t labels[] = {1, 1, 0, 5, 4};
  TopK t;
  t.add(logits, labels, 5, 6);
  EXPECT_EQ(t.count, 5);
  EXPECT_EQ(t.top1, 2);
  EXPECT_EQ(t.top5, 4);
}

// A NaN compares false with everything, so a row of NaNs would otherwise rank its label first: a
// diverged model scored "top1 100.00% top5 100.00%". Rows with NaN or inf are misses, counted.
TEST(TopK, NonFiniteLogitsAreNeverHits) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const float logits[] = {
      nan,  nan, nan, nan, nan, nan,  // label 0: all NaN
      1,    nan, 0,   0,   0,   0,    // label 0: the largest finite logit, but a NaN in the row
      0,    inf, 0,   0,   0,   0,    // label 1: +inf at the label
      -inf, 0,   0,   0,   0,   0,    // label 1: -inf elsewhere
      0,    4,   0,   0,   0,   0,    // label 1: an ordinary hit
  };
  const int32_t labels[] = {0, 0, 1, 1, 1};
  TopK t;
  t.add(logits, labels, 5, 6);
  EXPECT_EQ(t.count, 5);
  EXPECT_EQ(t.nonfinite, 4);
  EXPECT_EQ(t.top1, 1);
  EXPECT_EQ(t.top5, 1);
  EXPECT_DOUBLE_EQ(t.top1_pct(), 20.0);
}

TEST(TopK, NonFiniteLossIsReportedAsSuch) {
  EXPECT_EQ(format_loss(0.25), "0.2500");
  EXPECT_EQ(format_loss(std::nan("")), "nan (non-finite)");
  EXPECT_EQ(format_loss(HUGE_VAL), "inf (non-finite)");
  EXPECT_EQ(format_loss(-HUGE_VAL), "-inf (non-finite)");
  EvalResult r;
  r.count = 10;
  r.nonfinite = 10;
  r.loss = std::nan("");
  EXPECT_EQ(eval_figures(r),
            "top1 0.00% top5 0.00% loss nan (non-finite); 10 of 10 images had NaN/inf logits "
            "(counted as misses)");
  r.nonfinite = 0;
  r.loss = 0.5;
  EXPECT_EQ(eval_figures(r), "top1 0.00% top5 0.00% loss 0.5000");
}

}  // namespace
}  // namespace qf
