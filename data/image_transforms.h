// Geometry of the ImageNet transforms: which rectangle of a decoded image becomes a sample. Pure
// arithmetic (no pixels, no OpenCV), following torchvision exactly, so every case can be computed
// by hand; the pixels are resampled by the image-list dataset (data/opencv/).
//
// random_resized_crop_box — torchvision.transforms.RandomResizedCrop.get_params:
//   area = W * H; up to 10 attempts:
//     target = area * U(scale_min, scale_max);  r = exp(U(ln ratio_min, ln ratio_max))
//     w = round(sqrt(target * r));  h = round(sqrt(target / r))      (round half to even)
//     if 0 < w <= W and 0 < h <= H: top = randint(0, H - h + 1), left = randint(0, W - w + 1)
//   otherwise the central fallback: W/H < ratio_min -> w = W, h = round(w / ratio_min);
//   W/H > ratio_max -> h = H, w = round(h * ratio_max); else the whole image;
//   top = (H - h) / 2, left = (W - w) / 2 (floor).
// Every random number is one draw u in [0, 1) from a UniformSource: U(a, b) = a + (b - a) u and
// randint(0, n) = floor(u n). A sample's draws, in order: per attempt scale then log-ratio, then
// top and left; then random_flip's one draw (flip when u < p).
//
// resize_short_size — torchvision.transforms.Resize(s) for an int s: the short side becomes s, the
// long one int(s * long / short) (truncated); a square stays square.
// center_crop_box — torchvision.transforms.CenterCrop: top = round((H - h) / 2),
// left = round((W - w) / 2) (round half to even). The crop must fit (InputError otherwise).
#pragma once

#include <cstdint>

#include "data/dataset.h"

namespace qf {

struct CropBox {
  int top = 0, left = 0, height = 0, width = 0;
  bool operator==(const CropBox&) const = default;
};

struct Size2 {
  int width = 0, height = 0;
  bool operator==(const Size2&) const = default;
};

// Uniform draws in [0, 1).
class UniformSource {
 public:
  virtual ~UniformSource() = default;
  virtual double next() = 0;
};

// Draws from a sample's generator: the top 53 bits of one 64-bit output, times 2^-53.
class RngUniform final : public UniformSource {
 public:
  explicit RngUniform(SampleRng& rng) : rng_(rng) {}
  double next() override { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

 private:
  SampleRng& rng_;
};

struct RandomResizedCropParams {
  double scale_min = 0.08, scale_max = 1.0;
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
  int attempts = 10;
};

CropBox random_resized_crop_box(int width, int height, UniformSource& u,
                                const RandomResizedCropParams& p = {});
bool random_flip(UniformSource& u, double p = 0.5);
Size2 resize_short_size(int width, int height, int short_side);
CropBox center_crop_box(int width, int height, int crop_width, int crop_height);

}  // namespace qf
