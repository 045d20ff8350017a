// Image-list datasets: ImageNet (ILSVRC2012) in the PaddleClas / PaddleSlim layout.
//
//   ROOT/train/...           training images        ROOT/train_list.txt
//   ROOT/val/...             validation images      ROOT/val_list.txt
//
// A list line is `relative/path.JPEG label`: the label is the last whitespace-separated token (an
// integer in [0, num_classes)), the path is everything before it (so paths may hold spaces).
// Blank lines are ignored; a trailing '\r' (Windows line ends) is dropped. Paths are relative to
// ROOT (PaddleClas lists: `train/n01440764/n01440764_10026.JPEG 0`). Lists whose paths are
// relative to the split folder instead (PaddleSlim's demo reader joins ROOT/train/ and the path:
// `n01440764/n01440764_10026.JPEG 0`) are recognised from the first line: when ROOT/<path> does not
// exist but ROOT/<split_dir>/<path> does, every path of the list is taken inside ROOT/<split_dir>.
//
// Validation (ImageList::read, at construction): the list file must exist and hold at least one
// sample; every line needs a path and an integer label in range; a path must stay inside the
// root (no absolute path, no `..` component) and hold no NUL byte (the file system would open the
// part before it, another file). With check_files, every image file must also exist
// (one stat per line; off by default because ImageNet's 1.3 M stats cost seconds on a cold disk).
// Each problem is an InputError naming the list file and line. With skip_bad the bad lines are
// dropped instead (counted, one warning saying how many and the first reason), so sample indices
// are those of the surviving lines, identical on every rank and every run.
//
// Decoding (ImageListDataset::get, OpenCV): JPEG, PNG, BMP, WebP, TIFF, JPEG 2000, PNM, PFM, Sun
// raster, Radiance HDR and OpenEXR, the formats whose size data/image_header.h reads from the
// header: an image of more than max_image_pixels is refused before it is decoded (a small file can
// decode to gigabytes); grayscale, CMYK, palette and 16-bit images become 8-bit RGB; EXIF
// orientation is ignored (as PIL and torchvision do). A missing, empty, oversized or undecodable
// file is an InputError naming the list file, the line and the file. With skip_bad it is instead
// replaced, deterministically, by the next readable sample of the list (index + 1, + 2, ...
// wrapping around; its label comes with it), the file is remembered as bad so it is not read
// again, and one warning is given per bad file. Only if no file of the list can be read is it an
// error. A truncated JPEG is not detected: libjpeg decodes
// what is there, fills the rest with grey and prints its own warning (as OpenCV, PIL with
// LOAD_TRUNCATED_IMAGES and PaddleClas's cv2 reader do).
//
// Transforms (data/image_transforms.h): training = RandomResizedCrop(crop_size, scale 0.08-1,
// ratio 3/4-4/3, torchvision's sampling) then horizontal flip with p = 0.5; evaluation = resize the
// short side to resize_short (torchvision's size rounding) then center-crop crop_size. Resizing is
// bilinear with OpenCV's INTER_LINEAR coordinates (half-pixel centres, no antialiasing: what
// PaddleClas's cv2 pipeline and torchvision's tensor path without antialias do), computed in float
// together with the flip and the normalization by data/image_resample.h, for the output pixels
// only (evaluation does not resize what the centre crop drops); it equals cv::resize (INTER_LINEAR)
// up to that function's 8-bit rounding (less than one level). Or area averaging (INTER_AREA,
// antialiased when shrinking) with cv::resize. The result is normalized with the ImageNet mean
// (0.485, 0.456, 0.406) * 255 and std (0.229, 0.224, 0.225) * 255 on 0..255 RGB values, computed
// as x * (1 / std) + (-mean / std) in float (within 1e-6 of (x - mean) / std), and written as
// float32 (H, W, C) with C = 3 in RGB order. Randomness comes only from the SampleRng that get()
// receives.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.h"

namespace qf {

enum class Interpolation { bilinear, area };

struct ImageListOptions {
  std::string root;       // dataset folder (ROOT above)
  std::string list;       // list file; a relative path is taken inside root
  std::string split_dir;  // "train" / "val": the folder split-relative lists live in
  bool train = false;     // training transform (random crop + flip); else evaluation transform
  int num_classes = 1000;
  int crop_size = 224;
  int resize_short = 256;  // evaluation only; >= crop_size
  Interpolation interpolation = Interpolation::bilinear;
  bool skip_bad = false;
  bool check_files = false;
  // Largest image accepted, in pixels (width x height, read from the file's header before decoding:
  // data/image_header.h). A larger one is unreadable like a corrupt file (skip_bad applies).
  int64_t max_image_pixels = 100'000'000;
  // Receives warnings (skipped lines, unreadable images). Null: "qforge: warning: ..." on stderr.
  std::function<void(const std::string&)> warn;
};

// A parsed and validated list. Paths are stored back to back in one buffer.
class ImageList {
 public:
  static ImageList read(const ImageListOptions& options);

  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  std::string_view path(int64_t i) const;  // as written in the list
  int32_t label(int64_t i) const { return labels_[static_cast<size_t>(i)]; }
  int64_t line(int64_t i) const { return lines_[static_cast<size_t>(i)]; }  // 1-based
  // The list file as opened, and the folder the paths are relative to (root or root/split_dir).
  const std::string& list_path() const { return list_path_; }
  const std::string& base() const { return base_; }
  int64_t skipped_lines() const { return skipped_; }
  // base() + "/" + path(i), written into `out` (its capacity is reused: no allocation once grown).
  void full_path(int64_t i, std::string& out) const;

 private:
  std::string list_path_;
  std::string base_;
  std::string blob_;               // every path, back to back
  std::vector<uint64_t> offsets_;  // path i is blob_[offsets_[i], offsets_[i + 1])
  std::vector<int32_t> labels_;
  std::vector<int64_t> lines_;
  int64_t skipped_ = 0;
};

// False when qforge was built without OpenCV; open_image_list then throws an InputError saying so.
bool image_list_available();

// The dataset of `options` (reads and validates the list; see the top of this file).
std::unique_ptr<Dataset> open_image_list(const ImageListOptions& options);

// Counters of an image-list dataset (for tests and reports); zero for other datasets.
struct ImageListStats {
  int64_t skipped_lines = 0;  // dropped at construction (skip_bad)
  int64_t bad_images = 0;     // distinct files found unreadable while decoding (skip_bad)
  int64_t substitutions = 0;  // get() calls answered with a substitute sample
};
ImageListStats image_list_stats(const Dataset& dataset);

}  // namespace qf
