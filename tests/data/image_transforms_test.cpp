// The ImageNet transform geometry against hand-computed cases: RandomResizedCrop with scripted
// draws (a successful attempt, the extreme aspect ratio, each central fallback), the flip draw,
// torchvision's short-side resize sizes and center-crop offsets (round half to even), and the
// draws of RngUniform (53-bit, in [0, 1), reproducible for a seed).
#include "data/image_transforms.h"

#include <gtest/gtest.h>

#include <vector>

#include "nn/error.h"

namespace qf {
namespace {

// Hands out the given draws in order; counts how many were taken.
class Scripted final : public UniformSource {
 public:
  explicit Scripted(std::vector<double> draws) : draws_(std::move(draws)) {}
  double next() override {
    if (used_ >= draws_.size()) throw std::runtime_error("more draws taken than scripted");
    return draws_[used_++];
  }
  size_t used() const { return used_; }

 private:
  std::vector<double> draws_;
  size_t used_ = 0;
};

TEST(RandomResizedCrop, FirstAttemptFits) {
  // 100x80: target = 8000 * (0.08 + 0.92 * 0.5) = 4320; ratio exp(0) = 1 -> w = h = round(65.73)
  // = 66; top = floor(0.5 * 15) = 7; left = floor(0.25 * 35) = 8.
  Scripted u({0.5, 0.5, 0.5, 0.25});
  EXPECT_EQ(random_resized_crop_box(100, 80, u), (CropBox{7, 8, 66, 66}));
  EXPECT_EQ(u.used(), 4u);
}

TEST(RandomResizedCrop, SmallestScaleAndNarrowestRatio) {
  // target = 8000 * 0.08 = 640, ratio 3/4: w = round(sqrt(480)) = round(21.91) = 22,
  // h = round(sqrt(853.3)) = round(29.21) = 29; top = floor(0 * 52) = 0,
  // left = floor(0.999 * 79) = 78.
  Scripted u({0.0, 0.0, 0.0, 0.999});
  EXPECT_EQ(random_resized_crop_box(100, 80, u), (CropBox{0, 78, 29, 22}));
}

TEST(RandomResizedCrop, RetriesUntilAnAttemptFits) {
  // 100x10: scale ~1, ratio 1 gives a 32x32 box (too tall) twice; then scale 0.08 with ratio 4/3:
  // target 80, w = round(sqrt(106.7)) = 10, h = round(sqrt(60)) = 8 -> fits.
  Scripted u({0.999, 0.5, 0.999, 0.5, 0.0, 1.0 - 1e-12, 0.5, 0.5});
  EXPECT_EQ(random_resized_crop_box(100, 10, u), (CropBox{1, 45, 8, 10}));
  EXPECT_EQ(u.used(), 8u);
}

TEST(RandomResizedCrop, FallbackForWideImages) {
  // Every attempt wants a 32x32 box in a 100x10 image; after 10 attempts (20 draws): h = 10,
  // w = round(10 * 4/3) = 13, centered: left = (100 - 13) / 2 = 43.
  Scripted u(std::vector<double>(20, 0.999));
  EXPECT_EQ(random_resized_crop_box(100, 10, u), (CropBox{0, 43, 10, 13}));
  EXPECT_EQ(u.used(), 20u);
}

TEST(RandomResizedCrop, FallbackForTallImages) {
  // 10x100: w = 10, h = round(10 / (3/4)) = round(13.33) = 13, top = (100 - 13) / 2 = 43.
  Scripted u(std::vector<double>(20, 0.999));
  EXPECT_EQ(random_resized_crop_box(10, 100, u), (CropBox{43, 0, 13, 10}));
}

TEST(RandomResizedCrop, FallbackToTheWholeImage) {
  // 1x1: sqrt(0.08) rounds to 0 every time; the aspect ratio 1 is in range -> the whole image.
  Scripted u(std::vector<double>(20, 0.0));
  EXPECT_EQ(random_resized_crop_box(1, 1, u), (CropBox{0, 0, 1, 1}));
}

TEST(RandomResizedCrop, EmptyImageIsAnInputError) {
  Scripted u({});
  EXPECT_THROW(random_resized_crop_box(0, 5, u), InputError);
}

TEST(RandomFlip, FlipsBelowP) {
  Scripted u({0.49, 0.5, 0.0, 0.99});
  EXPECT_TRUE(random_flip(u));
  EXPECT_FALSE(random_flip(u));
  EXPECT_TRUE(random_flip(u));
  EXPECT_FALSE(random_flip(u));
}

TEST(ResizeShort, TorchvisionSizes) {
  EXPECT_EQ(resize_short_size(500, 375, 256), (Size2{341, 256}));  // 341.33 truncated
  EXPECT_EQ(resize_short_size(375, 500, 256), (Size2{256, 341}));
  EXPECT_EQ(resize_short_size(256, 256, 256), (Size2{256, 256}));
  EXPECT_EQ(resize_short_size(300, 200, 100), (Size2{150, 100}));
  EXPECT_EQ(resize_short_size(8, 4, 2), (Size2{4, 2}));
  EXPECT_EQ(resize_short_size(1, 3, 2), (Size2{2, 6}));
  EXPECT_EQ(resize_short_size(1000, 999, 256), (Size2{256, 256}));  // 256.26 truncated
  EXPECT_THROW(resize_short_size(0, 3, 2), InputError);
}

TEST(CenterCrop, RoundsHalfToEven) {
  EXPECT_EQ(center_crop_box(341, 256, 224, 224), (CropBox{16, 58, 224, 224}));  // 58.5 -> 58
  EXPECT_EQ(center_crop_box(343, 256, 224, 224), (CropBox{16, 60, 224, 224}));  // 59.5 -> 60
  EXPECT_EQ(center_crop_box(256, 341, 224, 224), (CropBox{58, 16, 224, 224}));
  EXPECT_EQ(center_crop_box(4, 2, 2, 2), (CropBox{0, 1, 2, 2}));
  EXPECT_EQ(center_crop_box(224, 224, 224, 224), (CropBox{0, 0, 224, 224}));
  EXPECT_THROW(center_crop_box(200, 300, 224, 224), InputError);
}

TEST(RngUniform, DrawsAreInUnitIntervalAndReproducible) {
  SampleRng a(sample_seed(7, 1, 42)), b(sample_seed(7, 1, 42)), c(sample_seed(7, 2, 42));
  RngUniform ua(a), ub(b), uc(c);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const double x = ua.next();
    EXPECT_GE(x, 0.0);
    EXPECT_LT(x, 1.0);
    EXPECT_EQ(x, ub.next());
    differ += x != uc.next();
  }
  EXPECT_GT(differ, 990);  // another epoch gives other draws
  SampleRng d(3);
  const uint64_t raw = SampleRng(3)();
  EXPECT_EQ(RngUniform(d).next(), static_cast<double>(raw >> 11) / 9007199254740992.0);
}

}  // namespace
}  // namespace qf
