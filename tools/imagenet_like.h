// write_imagenet_like: a small dataset in the ImageNet / PaddleClas layout made from Fashion-MNIST,
// for tests, demos and the loader benchmark (no ImageNet download needed):
//
//   OUT/train/<class>/<class>_<n>.JPEG   listed in OUT/train_list.txt as
//                                        `train/<class>/<class>_<n>.JPEG label`
//   OUT/val/FMNIST_val_<n>.JPEG          listed in OUT/val_list.txt as
//                                        `val/FMNIST_val_<n>.JPEG label`
//
// Training images come from Fashion-MNIST's training split (in order), validation images from its
// test split; the ten classes keep their Fashion-MNIST labels 0..9 (class folders t_shirt,
// trouser, ...). Each 28x28 image is upscaled (bilinear) to width x height and coloured: a random
// background and foreground colour per image (so colour says nothing about the class) blended by
// the garment's intensity, plus Gaussian noise of `noise` (0..255 scale) so the JPEGs carry
// photo-like detail and decode at realistic cost. Every gray_every-th image is written as a
// single-channel (grayscale) JPEG and every png_every-th as a PNG instead (0: never). Output is
// deterministic for a seed on one platform. Problems (no Fashion-MNIST, unwritable folder, bad
// option) are InputErrors.
#pragma once

#include <cstdint>
#include <string>

namespace qf {

struct ImagenetLikeOptions {
  std::string out;     // dataset folder to create (made if missing; existing files are replaced)
  std::string source;  // Fashion-MNIST folder; empty: Debian's /usr/share/datasets/fashion-mnist
  int train_images = 200;
  int val_images = 50;
  int width = 64;
  int height = 64;
  int quality = 90;    // JPEG quality, 1..100
  int gray_every = 0;  // every k-th image as a grayscale JPEG (0: none)
  int png_every = 0;   // every k-th image as a PNG (0: none)
  double noise = 8.0;
  uint64_t seed = 1;
};

struct ImagenetLikeSummary {
  int64_t train = 0, val = 0;  // images written
  int64_t gray = 0, png = 0;   // of which grayscale JPEGs, PNGs
  int64_t bytes = 0;           // total size of the image files
};

ImagenetLikeSummary write_imagenet_like(const ImagenetLikeOptions& options);

}  // namespace qf
