// Unreadable images while decoding: a missing file, an empty file, a file that is not an image,
// a folder where a file should be. Without skip_bad each is an InputError naming the list file,
// the line and the image (also when a loader worker hits it: next() rethrows it). With skip_bad
// the sample is replaced by the next readable one (its label too), deterministically, the file is
// warned about once and counted, and only a list without any readable image is an error.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <mutex>
#include <opencv2/imgcodecs.hpp>

#include "data/image_list.h"
#include "data/loader.h"
#include "tests/io/temp_dir.h"

namespace qf {
namespace {

using test::expect_input_error;
using test::TempDir;
using test::write_raw;

// val/0.png (label 0) good, 1 missing, 2 empty, 3 garbage, 4 a folder, 5.png (label 5) good.
struct BadRoot {
  TempDir dir;
  std::vector<std::string> warnings;
  std::mutex m;

  BadRoot() {
    std::filesystem::create_directories(dir.path() / "val" / "4.png");
    const cv::Mat img(6, 6, CV_8UC3, cv::Scalar(10, 20, 30));
    EXPECT_TRUE(cv::imwrite(dir.file("val/0.png"), img));
    EXPECT_TRUE(cv::imwrite(dir.file("val/5.png"), img));
    write_raw(dir.file("val/2.png"), "");
    write_raw(dir.file("val/3.png"), "this is not an image, only some text pretending to be one");
    write_raw(dir.file("val_list.txt"),
              "val/0.png 0\nval/1.png 1\nval/2.png 2\nval/3.png 3\nval/4.png 4\nval/5.png 5\n");
  }
  std::unique_ptr<Dataset> open(bool skip_bad) {
    ImageListOptions o;
    o.root = dir.path().string();
    o.list = "val_list.txt";
    o.num_classes = 10;
    o.crop_size = 4;
    o.resize_short = 4;
    o.skip_bad = skip_bad;
    o.warn = [this](const std::string& w) {
      std::lock_guard<std::mutex> lk(m);
      warnings.push_back(w);
    };
    return open_image_list(o);
  }
};

int32_t get(const Dataset& d, int64_t i) {
  std::vector<float> out(static_cast<size_t>(numel(d.sample_shape())));
  SampleRng rng(1);
  return d.get(i, out.data(), rng);
}

TEST(ImageListBadInput, EachUnreadableImageNamesListLineAndFile) {
  BadRoot r;
  const auto d = r.open(false);
  const std::string list = r.dir.file("val_list.txt");
  EXPECT_EQ(get(*d, 0), 0);
  expect_input_error([&] { get(*d, 1); }, list + ":2: image '" + r.dir.file("val/1.png"),
                     "No such file or directory");
  expect_input_error([&] { get(*d, 2); }, list + ":3: image '" + r.dir.file("val/2.png"),
                     "is empty");
  expect_input_error([&] { get(*d, 3); }, list + ":4: image '" + r.dir.file("val/3.png"),
                     "is not an image OpenCV can decode");
  expect_input_error([&] { get(*d, 4); }, list + ":5: image '" + r.dir.file("val/4.png"),
                     "is not a regular file");
  EXPECT_EQ(get(*d, 5), 5);
  EXPECT_TRUE(r.warnings.empty());
}

// A FIFO named in the list once blocked the loader forever (in open(), waiting for a writer); it
// is refused at once like any other file that is not a regular file.
TEST(ImageListBadInput, FifoIsRefusedWithoutBlocking) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "val");
  ASSERT_EQ(::mkfifo(dir.file("val/0.png").c_str(), 0600), 0);
  write_raw(dir.file("val_list.txt"), "val/0.png 0\n");
  ImageListOptions o;
  o.root = dir.path().string();
  o.list = "val_list.txt";
  o.num_classes = 2;
  o.crop_size = 4;
  o.resize_short = 4;
  const auto d = open_image_list(o);
  expect_input_error([&] { get(*d, 0); }, dir.file("val_list.txt") + ":1: image '" + dir.file("val/0.png"),
                     "is not a regular file");
}

TEST(ImageListBadInput, LoaderWorkersPassTheErrorToTheConsumer) {
  BadRoot r;
  const auto d = r.open(false);
  const SequentialSampler sampler(d->size());
  LoaderOptions lo;
  lo.batch_size = 2;
  lo.workers = 2;
  lo.prefetch = 2;
  DataLoader loader(*d, sampler, lo);
  loader.start_epoch(0);
  Batch b;
  expect_input_error(
      [&] {
        while (loader.next(b)) {
        }
      },
      "val_list.txt:2", "No such file");
}

TEST(ImageListBadInput, SkipBadSubstitutesTheNextReadableSample) {
  BadRoot r;
  const auto d = r.open(true);
  EXPECT_EQ(get(*d, 1), 5);  // 1..4 unreadable: the next readable is 5, label 5
  EXPECT_EQ(r.warnings.size(), 4u);
  EXPECT_NE(r.warnings[0].find("val_list.txt:2: image"), std::string::npos) << r.warnings[0];
  EXPECT_NE(r.warnings[0].find("replaced by the next readable sample"), std::string::npos);
  EXPECT_EQ(get(*d, 3), 5);  // known bad files are not read again, nor warned about
  EXPECT_EQ(get(*d, 0), 0);
  EXPECT_EQ(get(*d, 5), 5);
  EXPECT_EQ(r.warnings.size(), 4u);
  const ImageListStats s = image_list_stats(*d);
  EXPECT_EQ(s.bad_images, 4);
  EXPECT_EQ(s.substitutions, 2);
  EXPECT_EQ(s.skipped_lines, 0);
}

TEST(ImageListBadInput, SkipBadWrapsAroundAndIsTheSameForAnyWorkerCount) {
  BadRoot r;
  write_raw(r.dir.file("val_list.txt"), "val/0.png 0\nval/3.png 3\nval/5.png 5\nval/1.png 1\n");
  const auto d = r.open(true);
  EXPECT_EQ(get(*d, 3), 0);  // past the end: wraps to the first
  for (int workers : {0, 1, 3}) {
    const SequentialSampler sampler(d->size());
    LoaderOptions lo;
    lo.batch_size = 1;
    lo.workers = workers;
    lo.drop_last = false;
    DataLoader loader(*d, sampler, lo);
    loader.start_epoch(0);
    std::vector<int32_t> labels;
    Batch b;
    while (loader.next(b)) labels.push_back(b.labels.data<int32_t>()[0]);
    EXPECT_EQ(labels, (std::vector<int32_t>{0, 5, 5, 0})) << workers << " workers";
  }
  EXPECT_EQ(image_list_stats(*d).bad_images, 2);
}

TEST(ImageListBadInput, SkipBadFailsWhenNoImageIsReadable) {
  BadRoot r;
  write_raw(r.dir.file("val_list.txt"), "val/1.png 1\nval/2.png 2\n");
  const auto d = r.open(true);
  expect_input_error([&] { get(*d, 0); }, "val_list.txt", "none of its 2 images can be read");
}

TEST(ImageListBadInput, StatsAreZeroWithoutBadInput) {
  BadRoot r;
  const auto d = r.open(false);
  const ImageListStats s = image_list_stats(*d);
  EXPECT_EQ(s.bad_images + s.substitutions + s.skipped_lines, 0);
}

}  // namespace
}  // namespace qf
