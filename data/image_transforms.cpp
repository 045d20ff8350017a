// Crop and resize geometry of the ImageNet transforms. Contract and formulas: image_transforms.h.
//
// Rounding: Python's round() (half to even) is std::nearbyint under the default rounding mode
// (FE_TONEAREST), which nothing in qforge changes; Python's int() of a positive float is a
// truncation.
#include "data/image_transforms.h"

#include <algorithm>
#include <cmath>

#include "nn/error.h"

namespace qf {

namespace {

double uniform(UniformSource& u, double a, double b) {
  return a + (b - a) * u.next();
}

// floor(u * n) for n >= 1, kept below n even if u * n rounds up to n.
int randint(UniformSource& u, int n) {
  const int v = static_cast<int>(std::floor(u.next() * n));
  return std::min(v, n - 1);
}

int round_half_even(double x) {
  return static_cast<int>(std::nearbyint(x));
}

void check_size(int width, int height, const char* what) {
  if (width < 1 || height < 1)
    throw_input_error(what, ": image size ", width, "x", height, " is empty");
}

}  // namespace

CropBox random_resized_crop_box(int width, int height, UniformSource& u,
                                const RandomResizedCropParams& p) {
  check_size(width, height, "RandomResizedCrop");
  const double area = static_cast<double>(width) * height;
  const double log_min = std::log(p.ratio_min), log_max = std::log(p.ratio_max);
  for (int attempt = 0; attempt < p.attempts; ++attempt) {
    const double target = area * uniform(u, p.scale_min, p.scale_max);
    const double ratio = std::exp(uniform(u, log_min, log_max));
    const int w = round_half_even(std::sqrt(target * ratio));
    const int h = round_half_even(std::sqrt(target / ratio));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const int top = randint(u, height - h + 1);
      const int left = randint(u, width - w + 1);
      return {top, left, h, w};
    }
  }
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < p.ratio_min) {
    h = round_half_even(w / p.ratio_min);
  } else if (in_ratio > p.ratio_max) {
    w = round_half_even(h * p.ratio_max);
  }
  // Rounding can overshoot by one on tiny images (torchvision would crop past the edge there).
  w = std::clamp(w, 1, width);
  h = std::clamp(h, 1, height);
  return {(height - h) / 2, (width - w) / 2, h, w};
}

bool random_flip(UniformSource& u, double p) {
  return u.next() < p;
}

Size2 resize_short_size(int width, int height, int short_side) {
  check_size(width, height, "Resize");
  if (short_side < 1)
    throw_input_error("Resize: short side ", short_side, " is not allowed (>= 1)");
  const bool w_short = width <= height;
  const int64_t s = w_short ? width : height;
  const int64_t l = w_short ? height : width;
  const auto new_long =
      static_cast<int>(static_cast<double>(short_side * l) / static_cast<double>(s));
  return w_short ? Size2{short_side, new_long} : Size2{new_long, short_side};
}

CropBox center_crop_box(int width, int height, int crop_width, int crop_height) {
  if (crop_width > width || crop_height > height || crop_width < 1 || crop_height < 1)
    throw_input_error("CenterCrop: crop ", crop_width, "x", crop_height, " does not fit in ", width,
                      "x", height);
  return {round_half_even((height - crop_height) / 2.0),
          round_half_even((width - crop_width) / 2.0), crop_height, crop_width};
}

}  // namespace qf
