// The fused resample + flip + BGR->RGB + normalization (data/image_resample.h): hand-computed
// bilinear values (edge clamping, 2x upscale, 2x shrink, identity), an independent double-precision
// bilinear oracle, "window of the resized image" = "resize, then crop" exactly, and the fast kernel
// (tables, cached rows, AVX-512 windows or gathers, masked tails) equal to the reference for random
// geometries: up and down scaling, shrink beyond the 64-byte windows, 1-pixel sources, flips, odd
// sizes. Invalid geometry is an internal error.
#include "data/image_resample.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "nn/error.h"

namespace qf {
namespace {

const float kMean[3] = {0.485f * 255.f, 0.456f * 255.f, 0.406f * 255.f};
const float kStd[3] = {0.229f * 255.f, 0.224f * 255.f, 0.225f * 255.f};

// A BGR image with per-row padding (stride > 3 * width) and the per-element affine of n outputs.
struct Fixture {
  int width, height;
  int64_t stride;
  std::vector<uint8_t> pixels;
  std::vector<float> scale, bias;

  Fixture(int w, int h, uint32_t seed) : width(w), height(h), stride(3 * w + 5) {
    pixels.resize(static_cast<size_t>(stride * h));
    std::mt19937 g(seed);
    for (auto& p : pixels) p = static_cast<uint8_t>(g());
  }
  uint8_t& at(int y, int x, int bgr) {
    return pixels[static_cast<size_t>(y * stride + 3 * x + bgr)];
  }
  ImageView view() const { return {pixels.data(), width, height, stride}; }
  ChannelAffine affine(int n) {
    scale.resize(static_cast<size_t>(3 * n));
    bias.resize(scale.size());
    for (size_t k = 0; k < scale.size(); ++k) {
      scale[k] = 1.f / kStd[k % 3];
      bias[k] = -kMean[k % 3] / kStd[k % 3];
    }
    return {scale.data(), bias.data()};
  }
  std::vector<float> run(const ResampleSpec& s, ResampleKernel k = ResampleKernel::fast) {
    std::vector<float> out(static_cast<size_t>(3 * s.size * s.size));
    ResampleScratch scratch;
    resample_normalize(view(), s, affine(s.size), out.data(), scratch, k);
    return out;
  }
};

float norm(double v, int c) {
  return static_cast<float>((v - kMean[c]) / kStd[c]);
}

TEST(ResampleNormalize, IdentityIsNormalizedRgbAndFlipMirrors) {
  // A 5x3 image "resized" to 5x3; the 3x3 window at column 1, plain and mirrored.
  Fixture f(5, 3, 1);
  const ResampleSpec same{{0, 0, 3, 5}, 5, 3, 0, 1, 3, false};
  const ResampleSpec mirrored{{0, 0, 3, 5}, 5, 3, 0, 1, 3, true};
  const std::vector<float> a = f.run(same), b = f.run(mirrored);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 3; ++x)
      for (int c = 0; c < 3; ++c) {
        const size_t i = static_cast<size_t>((y * 3 + x) * 3 + c);
        EXPECT_NEAR(a[i], norm(f.at(y, 1 + x, 2 - c), c), 2e-6) << y << "," << x << "," << c;
        EXPECT_NEAR(b[i], norm(f.at(y, 3 - x, 2 - c), c), 2e-6) << y << "," << x << "," << c;
      }
}

TEST(ResampleNormalize, TwoTimesUpscaleClampsAtTheEdges) {
  // A 2x1 image -> 4x1: sx = (X + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (last).
  Fixture f(2, 1, 2);
  f.at(0, 0, 2) = 10;
  f.at(0, 1, 2) = 50;  // red channel
  const std::vector<float> out = f.run({{0, 0, 1, 2}, 4, 4, 0, 0, 4, false});
  const double want[4] = {10, 0.75 * 10 + 0.25 * 50, 0.25 * 10 + 0.75 * 50, 50};
  for (int x = 0; x < 4; ++x)
    for (int y = 0; y < 4; ++y)  // one source row: every output row is the same
      EXPECT_NEAR(out[static_cast<size_t>((y * 4 + x) * 3)], norm(want[x], 0), 2e-6) << x;
}

TEST(ResampleNormalize, TwoTimesShrinkAveragesBlocks) {
  // 4x4 -> 2x2: sx = 2X + 0.5, the mean of each 2x2 block.
  Fixture f(4, 4, 3);
  const std::vector<float> out = f.run({{0, 0, 4, 4}, 2, 2, 0, 0, 2, false});
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x)
      for (int c = 0; c < 3; ++c) {
        const double mean = (f.at(2 * y, 2 * x, 2 - c) + f.at(2 * y, 2 * x + 1, 2 - c) +
                             f.at(2 * y + 1, 2 * x, 2 - c) + f.at(2 * y + 1, 2 * x + 1, 2 - c)) /
                            4.0;
        EXPECT_NEAR(out[static_cast<size_t>((y * 2 + x) * 3 + c)], norm(mean, c), 2e-6);
      }
}

// The formula of the header in double, written independently of the kernel.
double bilinear(Fixture& f, const ResampleSpec& s, int y, int x, int c) {
  auto axis = [](int i, int src, int resized, int& i0, int& i1, double& w) {
    double p = (i + 0.5) * src / resized - 0.5;
    p = std::clamp(p, 0.0, static_cast<double>(src - 1));
    i0 = static_cast<int>(std::floor(p));
    i1 = std::min(i0 + 1, src - 1);
    w = p - i0;
  };
  int x0, x1, y0, y1;
  double wx, wy;
  axis(s.left + (s.flip ? s.size - 1 - x : x), s.src.width, s.resized_width, x0, x1, wx);
  axis(s.top + y, s.src.height, s.resized_height, y0, y1, wy);
  auto p = [&](int yy, int xx) { return double(f.at(s.src.top + yy, s.src.left + xx, 2 - c)); };
  return (1 - wy) * ((1 - wx) * p(y0, x0) + wx * p(y0, x1)) +
         wy * ((1 - wx) * p(y1, x0) + wx * p(y1, x1));
}

ResampleSpec random_spec(std::mt19937& g, int width, int height) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(g); };
  ResampleSpec s;
  s.src.width = pick(1, width);
  s.src.height = pick(1, height);
  s.src.left = pick(0, width - s.src.width);
  s.src.top = pick(0, height - s.src.height);
  s.size = pick(1, 40);
  s.resized_width = s.size + pick(0, 20);
  s.resized_height = s.size + pick(0, 20);
  s.left = pick(0, s.resized_width - s.size);
  s.top = pick(0, s.resized_height - s.size);
  s.flip = pick(0, 1) == 1;
  return s;
}

TEST(ResampleNormalize, MatchesABilinearOracleInDouble) {
  Fixture f(97, 61, 4);
  std::mt19937 g(5);
  for (int t = 0; t < 60; ++t) {
    const ResampleSpec s = random_spec(g, f.width, f.height);
    const std::vector<float> out = f.run(s, ResampleKernel::ref);
    for (int y = 0; y < s.size; ++y)
      for (int x = 0; x < s.size; ++x)
        for (int c = 0; c < 3; ++c)
          ASSERT_NEAR(out[static_cast<size_t>((y * s.size + x) * 3 + c)],
                      norm(bilinear(f, s, y, x, c), c), 2e-4)
              << "case " << t << " at " << y << "," << x << "," << c;
  }
}

TEST(ResampleNormalize, WindowEqualsResizeThenCrop) {
  // Evaluation: 341x256 resized to 298x224 (short side 224), the 200x200 window at (12, 20),
  // against the left 224x224 square of the whole resized image (which holds that window).
  Fixture f(341, 256, 6);
  const CropBox whole{0, 0, 256, 341};
  const ResampleSpec window{whole, 298, 224, 12, 20, 200, false};
  const ResampleSpec full_rows{whole, 298, 224, 0, 0, 224, false};
  const std::vector<float> rows = f.run(full_rows), crop = f.run(window);
  for (int y = 0; y < 200; ++y)
    for (int x = 0; x < 200; ++x)
      for (int c = 0; c < 3; ++c)
        ASSERT_EQ(crop[static_cast<size_t>((y * 200 + x) * 3 + c)],
                  rows[static_cast<size_t>(((y + 12) * 224 + x + 20) * 3 + c)])
            << y << "," << x << "," << c;
}

TEST(ResampleNormalize, FastKernelEqualsReference) {
  std::mt19937 g(7);
  ResampleScratch shared;  // one scratch across sizes, as a loader thread uses it
  for (int t = 0; t < 200; ++t) {
    const int w = std::uniform_int_distribution<int>(1, 300)(g);
    const int h = std::uniform_int_distribution<int>(1, 200)(g);
    Fixture f(w, h, static_cast<uint32_t>(t));
    ResampleSpec s = random_spec(g, w, h);
    if (t % 4 == 0) {  // strong shrink: taps of 16 outputs span more than 64 bytes
      s.src = {0, 0, h, w};
      s.size = std::uniform_int_distribution<int>(1, 17)(g);
      s.resized_width = s.resized_height = s.size;
      s.left = s.top = 0;
    }
    std::vector<float> fast(static_cast<size_t>(3 * s.size * s.size));
    resample_normalize(f.view(), s, f.affine(s.size), fast.data(), shared);
    ASSERT_EQ(fast, f.run(s, ResampleKernel::ref))
        << "case " << t << ": " << w << "x" << h << " box " << s.src.left << "," << s.src.top << " "
        << s.src.width << "x" << s.src.height << " -> " << s.resized_width << "x"
        << s.resized_height << " window " << s.left << "," << s.top << " n " << s.size;
  }
}

TEST(ResampleNormalize, ImageNetSizesFastEqualsReference) {
  // 224 outputs (42 chunks of 16 elements): train upscale with flip, eval of a 500x375 photo.
  Fixture f(500, 375, 8);
  for (const ResampleSpec& s : {ResampleSpec{{40, 70, 150, 130}, 224, 224, 0, 0, 224, true},
                                ResampleSpec{{0, 0, 375, 500}, 341, 256, 16, 58, 224, false},
                                ResampleSpec{{0, 0, 375, 500}, 224, 224, 0, 0, 224, false}})
    EXPECT_EQ(f.run(s), f.run(s, ResampleKernel::ref));
}

TEST(ResampleNormalize, InvalidGeometryIsAnInternalError) {
  Fixture f(8, 8, 9);
  std::vector<float> out(3 * 4 * 4);
  ResampleScratch scratch;
  const ChannelAffine a = f.affine(4);
  for (const ResampleSpec& s : {ResampleSpec{{0, 5, 8, 4}, 4, 4, 0, 0, 4, false},
                                ResampleSpec{{0, 0, 0, 4}, 4, 4, 0, 0, 4, false},
                                ResampleSpec{{0, 0, 8, 8}, 4, 4, 1, 0, 4, false}})
    EXPECT_THROW(resample_normalize(f.view(), s, a, out.data(), scratch), InternalError);
}

}  // namespace
}  // namespace qf
