// The image-list dataset's pixels: evaluation resize + center crop and training crop + resize +
// flip against hand-computed values (lossless PNGs written here) and against OpenCV's crop +
// resize (within one 8-bit level: image_resample.h), evaluation computing only the centre crop,
// bilinear vs area resampling, RGB order and ImageNet normalization, grayscale and CMYK JPEGs
// becoming RGB, reproducibility for a seed (also through the threaded loader, for any worker
// count), and the reusable scratch buffers.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/image_list.h"
#include "data/image_resample.h"
#include "data/image_transforms.h"
#include "data/loader.h"
#include "data/opencv/reusable_mat_allocator.h"
#include "tests/io/temp_dir.h"
#include "tools/imagenet_like.h"

namespace qf {
namespace {

using test::TempDir;
using test::write_raw;

const float kMean[3] = {0.485f * 255.f, 0.456f * 255.f, 0.406f * 255.f};
const float kStd[3] = {0.229f * 255.f, 0.224f * 255.f, 0.225f * 255.f};

// The dataset's normalization, (v - mean) / std up to float rounding (it multiplies by 1 / std).
float norm(float v, int c) {
  return (v - kMean[c]) / kStd[c];
}
constexpr float kTol = 2e-6f;

// A dataset over one image file written by `write` into the root as train/img.png.
struct OneImage {
  TempDir dir;
  std::unique_ptr<Dataset> data;
  OneImage(const cv::Mat& bgr, ImageListOptions o, const std::string& name = "train/img.png") {
    std::filesystem::create_directories(dir.path() / "train");
    EXPECT_TRUE(cv::imwrite(dir.file(name), bgr));
    write_raw(dir.file("list.txt"), name + " 3\n");
    o.root = dir.path().string();
    o.list = "list.txt";
    o.num_classes = 10;
    data = open_image_list(o);
  }
  std::vector<float> get(uint64_t seed = 1) {
    std::vector<float> out(static_cast<size_t>(numel(data->sample_shape())));
    SampleRng rng(seed);
    EXPECT_EQ(data->get(0, out.data(), rng), 3);
    return out;
  }
};

// An image whose 2x2 blocks have the given BGR means (every pixel of a block differs, the block
// sums are multiples of 4, so bilinear halving is exact).
cv::Mat blocks_image() {
  cv::Mat m(4, 8, CV_8UC3);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 8; ++x) {
      const int bx = x / 2, by = y / 2;
      const int d = ((x % 2) * 2 + (y % 2)) * 2 - 3;  // -3, -1, 1, 3: sums to 0 in a block
      m.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uint8_t>(40 + 20 * bx + d), static_cast<uint8_t>(100 + 50 * by + d),
                    static_cast<uint8_t>(200 - 30 * bx + d));
    }
  return m;
}

TEST(ImageListDataset, EvalResizesShortSideThenCropsTheCentre) {
  // 8x4 -> short side 2 -> 4x2 (each pixel the mean of a 2x2 block); centre crop 2x2 at left 1.
  ImageListOptions o;
  o.crop_size = 2;
  o.resize_short = 2;
  OneImage one(blocks_image(), o);
  EXPECT_EQ(one.data->sample_shape(), (Shape{3, 2, 2}));
  const std::vector<float> out = one.get();
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x) {
      const int bx = x + 1, by = y;
      const float b = 40 + 20 * bx, g = 100 + 50 * by, r = 200 - 30 * bx;
      const float* px = &out[static_cast<size_t>((y * 2 + x) * 3)];
      EXPECT_NEAR(px[0], norm(r, 0), kTol) << y << "," << x;  // RGB order
      EXPECT_NEAR(px[1], norm(g, 1), kTol) << y << "," << x;
      EXPECT_NEAR(px[2], norm(b, 2), kTol) << y << "," << x;
    }
}

TEST(ImageListDataset, BilinearAndAreaShrinkDifferently) {
  // 6x6 -> 2x2: area averages each 3x3 block; bilinear samples source (1, 1) + 3k exactly.
  // Pixel values 7 * (6y + x) are linear in x and y, so a block's mean is its centre.
  cv::Mat m(6, 6, CV_8UC3);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 6; ++x) {
      const uint8_t v = static_cast<uint8_t>(7 * (y * 6 + x));
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(v, v, v);
    }
  ImageListOptions o;
  o.crop_size = 2;
  o.resize_short = 2;
  OneImage bilinear(m, o);
  o.interpolation = Interpolation::area;
  OneImage area(m, o);
  const std::vector<float> b = bilinear.get(), a = area.get();
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x) {
      const size_t i = static_cast<size_t>((y * 2 + x) * 3);
      const float centre = 7.f * ((3 * y + 1) * 6 + (3 * x + 1));
      EXPECT_NEAR(b[i], norm(centre, 0), kTol);
      EXPECT_NEAR(a[i], norm(centre, 0), kTol);
    }
  // A block whose mean differs from its centre separates the two.
  m.at<cv::Vec3b>(0, 0) = cv::Vec3b(255, 255, 255);  // block (0,0): sum 9 * 49 - 0 + 255
  OneImage bilinear2(m, ImageListOptions{.crop_size = 2, .resize_short = 2});
  OneImage area2(
      m, ImageListOptions{.crop_size = 2, .resize_short = 2, .interpolation = Interpolation::area});
  EXPECT_NEAR(bilinear2.get()[0], norm(49.f, 0), kTol);
  EXPECT_NEAR(area2.get()[0], norm(std::round((49.f * 9 + 255.f) / 9), 0), kTol);  // 77.3 -> 77
}

// The ImageNet affine per element of an RGB row of n pixels.
struct Affine {
  std::vector<float> scale, bias;
  explicit Affine(int n) {
    for (int k = 0; k < 3 * n; ++k) {
      scale.push_back(1.f / kStd[k % 3]);
      bias.push_back(-kMean[k % 3] / kStd[k % 3]);
    }
  }
  ChannelAffine get() const { return {scale.data(), bias.data()}; }
};

// The reference resample (data/image_resample.h) of `spec` on a BGR Mat.
std::vector<float> reference_sample(const cv::Mat& bgr, const ResampleSpec& spec) {
  std::vector<float> out(static_cast<size_t>(3 * spec.size * spec.size));
  ResampleScratch scratch;
  const ImageView v{bgr.data, bgr.cols, bgr.rows, static_cast<int64_t>(bgr.step[0])};
  resample_normalize(v, spec, Affine(spec.size).get(), out.data(), scratch, ResampleKernel::ref);
  return out;
}

// `out` (n, n, 3 RGB, normalized) against an 8-bit BGR image of n x n pixels (mirrored when
// `flip`): within one 8-bit level, as image_resample.h promises against cv::resize.
void expect_within_one_level(const std::vector<float>& out, const cv::Mat& bgr, bool flip,
                             const std::string& what) {
  const int n = bgr.cols;
  for (int y = 0; y < n; ++y)
    for (int x = 0; x < n; ++x) {
      const cv::Vec3b p = bgr.at<cv::Vec3b>(y, flip ? n - 1 - x : x);
      for (int c = 0; c < 3; ++c)
        ASSERT_NEAR(out[static_cast<size_t>((y * n + x) * 3 + c)], norm(p[2 - c], c),
                    1.0f / kStd[c] + kTol)
            << what << " at " << y << "," << x << " channel " << c;
    }
}

TEST(ImageListDataset, TrainCropResizeFlipMatchesAHandBuiltSample) {
  cv::Mat m(37, 53, CV_8UC3);
  cv::RNG fill(5);
  fill.fill(m, cv::RNG::UNIFORM, 0, 256);
  ImageListOptions o;
  o.train = true;
  o.crop_size = 16;
  OneImage one(m, o);
  int flips = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    SampleRng rng(seed);
    RngUniform u(rng);
    const CropBox box = random_resized_crop_box(53, 37, u);
    const bool flip = random_flip(u);
    flips += flip;
    const std::vector<float> out = one.get(seed);
    // Exactly the crop, bilinear resize to 16x16 and flip of data/image_resample.h ...
    EXPECT_EQ(out, reference_sample(m, ResampleSpec{box, 16, 16, 0, 0, 16, flip}))
        << "seed " << seed;
    // ... which is OpenCV's crop + INTER_LINEAR resize + flip, up to its 8-bit rounding.
    cv::Mat crop = m(cv::Rect(box.left, box.top, box.width, box.height)).clone(), resized;
    cv::resize(crop, resized, cv::Size(16, 16), 0, 0, cv::INTER_LINEAR);
    expect_within_one_level(out, resized, flip, "seed " + std::to_string(seed));
    EXPECT_EQ(out, one.get(seed));  // the same seed gives the same sample
  }
  EXPECT_GT(flips, 0);
  EXPECT_LT(flips, 12);
}

TEST(ImageListDataset, EvalComputesOnlyTheCentreCropOfTheResizedImage) {
  // 53x37 -> short side 20: 28x20 (28.6 truncated); centre crop 16 at top 2, left 6.
  cv::Mat m(37, 53, CV_8UC3);
  cv::RNG fill(6);
  fill.fill(m, cv::RNG::UNIFORM, 0, 256);
  ImageListOptions o;
  o.crop_size = 16;
  o.resize_short = 20;
  OneImage one(m, o);
  const std::vector<float> out = one.get();
  // The window of the resized image equals that part of a larger window (the 20x20 square at
  // left 4, holding columns 6..21) ...
  const CropBox whole{0, 0, 37, 53};
  const std::vector<float> full = reference_sample(m, ResampleSpec{whole, 28, 20, 0, 4, 20, false});
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c)
        ASSERT_EQ(out[static_cast<size_t>((y * 16 + x) * 3 + c)],
                  full[static_cast<size_t>(((y + 2) * 20 + x + 2) * 3 + c)])
            << y << "," << x << "," << c;
  // ... and OpenCV's resize to 28x20 then crop, up to its 8-bit rounding.
  cv::Mat resized;
  cv::resize(m, resized, cv::Size(28, 20), 0, 0, cv::INTER_LINEAR);
  expect_within_one_level(out, resized(cv::Rect(6, 2, 16, 16)).clone(), false, "eval");
}

TEST(ImageListDataset, GrayscaleBecomesThreeEqualChannels) {
  cv::Mat gray(4, 4, CV_8UC1, cv::Scalar(77));
  ImageListOptions o;
  o.crop_size = 4;
  o.resize_short = 4;
  OneImage png(gray, o, "train/gray.png");
  OneImage jpg(gray, o, "train/gray.JPEG");
  for (const auto& out : {png.get(), jpg.get()})
    for (int c = 0; c < 3; ++c)
      EXPECT_NEAR(out[static_cast<size_t>(c)], norm(77, c), 1.5 / kStd[c]);
  EXPECT_NEAR(png.get()[0], norm(77, 0), kTol);
}

TEST(ImageListDataset, CmykJpegBecomesRgb) {
  // tests/data/cmyk_16x16.jpg (written by PIL, Adobe CMYK, quality 100): quadrants of no ink,
  // cyan ink, black ink, magenta + yellow ink -> white, cyan, black, red.
  TempDir dir;
  std::filesystem::copy_file(QF_SOURCE_DIR "/tests/data/cmyk_16x16.jpg", dir.file("c.jpg"));
  write_raw(dir.file("list.txt"), "c.jpg 0\n");
  ImageListOptions o;
  o.root = dir.path().string();
  o.list = "list.txt";
  o.crop_size = 16;
  o.resize_short = 16;
  const auto data = open_image_list(o);
  std::vector<float> out(16 * 16 * 3);
  SampleRng rng(1);
  data->get(0, out.data(), rng);
  const float want[4][3] = {{255, 255, 255}, {0, 255, 255}, {0, 0, 0}, {255, 0, 0}};
  const int at[4][2] = {{3, 3}, {3, 12}, {12, 3}, {12, 12}};  // (y, x) inside each quadrant
  for (int q = 0; q < 4; ++q)
    for (int c = 0; c < 3; ++c) {
      const float v = out[static_cast<size_t>((at[q][0] * 16 + at[q][1]) * 3 + c)];
      EXPECT_NEAR(v * kStd[c] + kMean[c], want[q][c], 3.0) << "quadrant " << q << " channel " << c;
    }
}

// Batches of one epoch, copied out.
std::vector<std::vector<float>> epoch_batches(const Dataset& data, int workers, uint64_t seed) {
  const ShuffleSampler sampler(data.size(), 9);
  LoaderOptions lo;
  lo.batch_size = 5;
  lo.workers = workers;
  lo.prefetch = 2;
  lo.seed = seed;
  lo.drop_last = false;
  DataLoader loader(data, sampler, lo);
  loader.start_epoch(2);
  std::vector<std::vector<float>> r;
  Batch b;
  while (loader.next(b)) {
    const float* p = b.images.data<float>();
    r.emplace_back(p, p + b.images.numel());
  }
  return r;
}

TEST(ImageListDataset, LoaderIsReproducibleForASeedWithAnyWorkerCount) {
  TempDir dir;
  ImagenetLikeOptions g;
  g.out = dir.path().string();
  g.train_images = 23;
  g.val_images = 4;
  g.width = 40;
  g.height = 30;
  g.gray_every = 5;
  g.png_every = 7;
  write_imagenet_like(g);
  ImageListOptions o;
  o.root = g.out;
  o.list = "train_list.txt";
  o.train = true;
  o.crop_size = 24;
  o.num_classes = 10;
  const auto data = open_image_list(o);
  ASSERT_EQ(data->size(), 23);
  const auto serial = epoch_batches(*data, 0, 11);
  ASSERT_EQ(serial.size(), 5u);
  EXPECT_EQ(epoch_batches(*data, 1, 11), serial);
  EXPECT_EQ(epoch_batches(*data, 3, 11), serial);
  EXPECT_NE(epoch_batches(*data, 2, 12), serial);  // another run seed: other crops
  EXPECT_NE(data->describe().find("23 images"), std::string::npos) << data->describe();
}

TEST(ReusableMatAllocator, ReusesOneGrowOnlyBlock) {
  ReusableMatAllocator alloc;
  {
    cv::Mat m;
    m.allocator = &alloc;
    m.create(100, 100, CV_8UC3);
    const uchar* first = m.data;
    m.create(50, 60, CV_8UC3);  // smaller: same block
    EXPECT_EQ(m.data, first);
    EXPECT_TRUE(m.isContinuous());
    m.create(100, 100, CV_8UC3);
    EXPECT_EQ(m.data, first);
    EXPECT_EQ(alloc.growths(), 1);
    m.create(300, 200, CV_8UC3);  // larger: grows once
    EXPECT_EQ(alloc.growths(), 2);
    EXPECT_GE(alloc.capacity(), 300u * 200u * 3u);
    m.setTo(cv::Scalar(1, 2, 3));
    cv::Mat other;
    other.allocator = &alloc;
    other.create(10, 10, CV_8UC1);  // the block is in use: OpenCV's allocator serves it
    EXPECT_EQ(alloc.fallbacks(), 1);
    EXPECT_NE(other.data, m.data);
    cv::Mat copy = m;  // shares the block; freed only when both let go
    m.release();
    EXPECT_EQ(copy.at<cv::Vec3b>(299, 199), cv::Vec3b(1, 2, 3));
  }
  cv::Mat again;
  again.allocator = &alloc;
  again.create(64, 64, CV_32FC1);
  EXPECT_EQ(alloc.growths(), 2);  // free again, reused
  EXPECT_EQ(alloc.fallbacks(), 1);
}

}  // namespace
}  // namespace qf
