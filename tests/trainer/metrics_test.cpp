// Top-1 / top-5 as argmax defines them: a class ranks by its logit, ties broken by the lower class
// index (torch.argmax, numpy.argmax, the ONNX Runtime scripts) — so tied logits, which quantized
// logits produce often, are not all counted as hits.
#include <gtest/gtest.h>

#include "trainer/metrics.h"

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

}  // namespace
}  // namespace qf
