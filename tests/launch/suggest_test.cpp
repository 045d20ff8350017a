// "Did you mean": the few closest names, never the whole list, and nothing when nothing is close.
#include "launch/lib/suggest.h"

#include <gtest/gtest.h>

namespace qf {
namespace {

using Names = std::vector<std::string>;

TEST(Suggest, EditDistanceCountsSwapsAsOneAndFoldsCaseAndDashes) {
  EXPECT_EQ(edit_distance("train", "trian"), 1);
  EXPECT_EQ(edit_distance("batch-size", "batch_size"), 0);
  EXPECT_EQ(edit_distance("Hist", "hist"), 0);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3);
  EXPECT_EQ(edit_distance("", "abc"), 3);
}

TEST(Suggest, ClosestCommandsAndOptions) {
  const Names commands = {"train", "eval",        "summary", "qat",  "export",
                          "ptq",   "ptq-dynamic", "bench",   "infer"};
  EXPECT_EQ(closest_names("trian", commands), (Names{"train"}));
  EXPECT_EQ(closest_names("ptq_dynamic", commands), (Names{"ptq-dynamic"}));
  EXPECT_EQ(closest_names("benhc", commands), (Names{"bench"}));
  EXPECT_TRUE(closest_names("quantize", commands).empty());

  const Names keys = {"optimizer.lr",         "optimizer.momentum", "data.batch_size",
                      "data.eval_batch_size", "ptq.batch_size",     "ptq.batch_nums",
                      "train.epochs",         "batch-size",         "lr"};
  // Initials: learning_rate -> lr.
  EXPECT_EQ(closest_names("optimizer.learning_rate", keys)[0], "optimizer.lr");
  // The right key under the wrong section finds its namesakes, at most three.
  const Names bs = closest_names("train.batch_size", keys);
  EXPECT_LE(bs.size(), 3u);
  EXPECT_EQ(bs[0], "data.batch_size");
  // A prefix or a suffix of four characters or more.
  EXPECT_EQ(closest_names("eval-batch", keys), (Names{"data.eval_batch_size"}));
  EXPECT_EQ(closest_names("momentun", keys), (Names{"optimizer.momentum"}));
  EXPECT_TRUE(closest_names("zzz", keys).empty());
}

TEST(Suggest, SentenceNamesUpToThreeWithPrefix) {
  EXPECT_EQ(did_you_mean("trian", {"train", "eval"}), "; did you mean train?");
  EXPECT_EQ(did_you_mean(Names{"a", "b", "c"}, "--"), "; did you mean --a, --b or --c?");
  EXPECT_EQ(did_you_mean("xyz", {"train"}), "");
}

}  // namespace
}  // namespace qf
