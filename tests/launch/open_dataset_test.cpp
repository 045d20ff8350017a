// open_dataset and check_dataset_fits_model: data.format = imagelist builds the image-list
// dataset (training transform for "train", evaluation for "test") or, in a build without OpenCV,
// says that OpenCV is missing; the imagelist config keys are validated; a dataset whose samples
// do not fit the model is an InputError naming both shapes.
#include <gtest/gtest.h>

#include "data/image_list.h"
#include "launch/lib/config_schema.h"
#include "launch/lib/run_config.h"
#include "launch/lib/setup.h"
#include "tests/io/temp_dir.h"
#include "tests/optional_deps.h"

namespace qf {
namespace {

using test::expect_input_error;
using test::TempDir;
using test::write_raw;

TEST(OpenDataset, ImagelistKeysAreValidated) {
  ConfigSchema s;
  RunConfig c;
  bind_run_config(s, c);
  s.parse_args({"--data.format", "imagelist", "--data.crop_size", "32", "--data.resize_short", "36",
                "--data.skip_bad", "--data.interpolation", "area", "--data.train_list", "t.txt",
                "--data.check_files=true"});
  s.validate();
  EXPECT_EQ(c.data.format, "imagelist");
  EXPECT_EQ(c.data.crop_size, 32);
  EXPECT_EQ(c.data.resize_short, 36);
  EXPECT_TRUE(c.data.skip_bad);
  EXPECT_TRUE(c.data.check_files);
  EXPECT_EQ(c.data.interpolation, "area");
  EXPECT_EQ(c.data.train_list, "t.txt");
  EXPECT_EQ(c.data.val_list, "val_list.txt");
  s.set("data.resize_short", "31", "test");
  expect_input_error([&] { s.validate(); }, "data.resize_short", "smaller than data.crop_size");
  expect_input_error([&] { s.set("data.format", "jpeg", "test"); }, "data.format",
                     "allowed: idx, imagelist");
  expect_input_error([&] { s.set("data.interpolation", "cubic", "test"); }, "data.interpolation",
                     "allowed: bilinear, area");
}

TEST(OpenDataset, ImagelistNeedsARoot) {
  DataConfig d;
  d.format = "imagelist";
  expect_input_error([&] { open_dataset(d, "train", 10); }, "data.root", "/data/ILSVRC2012");
}

TEST(OpenDataset, ImagelistBuildsBothSplitsOrSaysOpenCvIsMissing) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "train");
  std::filesystem::create_directories(dir.path() / "val");
  write_raw(dir.file("train_list.txt"), "train/a.JPEG 1\ntrain/b.JPEG 2\ntrain/c.JPEG 3\n");
  write_raw(dir.file("val_list.txt"), "val/a.JPEG 4\n");
  DataConfig d;
  d.format = "imagelist";
  d.root = dir.path().string();
  d.crop_size = 32;
  d.resize_short = 40;
  if (!image_list_available()) {
    expect_input_error([&] { open_dataset(d, "train", 10); }, "data.format", "built without it");
    return;
  }
  const auto train = open_dataset(d, "train", 10);
  const auto test = open_dataset(d, "test", 10);
  EXPECT_EQ(train->size(), 3);
  EXPECT_EQ(test->size(), 1);
  EXPECT_EQ(train->sample_shape(), (Shape{3, 32, 32}));
  EXPECT_EQ(train->num_classes(), 10);
  EXPECT_NE(train->describe().find("RandomResizedCrop 32 + flip"), std::string::npos)
      << train->describe();
  EXPECT_NE(test->describe().find("resize 40 + center crop 32"), std::string::npos)
      << test->describe();
  // The model's class count bounds the labels.
  expect_input_error([&] { open_dataset(d, "test", 4); }, "val_list.txt:1",
                     "label 4 is outside 0..3");

  ModelConfig m;
  m.in_channels = 3;
  m.image_size = 32;
  m.num_classes = 10;
  check_dataset_fits_model(*train, m);
  m.image_size = 28;
  expect_input_error([&] { check_dataset_fits_model(*train, m); }, "3x32x32",
                     "the model takes 3x28x28");
  m.image_size = 32;
  m.in_channels = 1;
  expect_input_error([&] { check_dataset_fits_model(*train, m); }, "3x32x32",
                     "the model takes 1x32x32");
}

TEST(OpenDataset, FashionMnistFitsTheSmallModelOnly) {
  DataConfig d;  // idx, Debian's Fashion-MNIST
  QF_SKIP_UNLESS(std::filesystem::exists("/usr/share/datasets/fashion-mnist"),
                 "dataset-fashion-mnist is not installed");
  const auto test = open_dataset(d, "test", 10);
  ModelConfig m;
  m.in_channels = 1;
  m.image_size = 28;
  check_dataset_fits_model(*test, m);
  m.num_classes = 5;
  expect_input_error([&] { check_dataset_fits_model(*test, m); }, "model.num_classes",
                     "fewer than the 10 classes");
}

}  // namespace
}  // namespace qf
