// ImageListDataset: the image-list dataset decoded with OpenCV. Contract: data/image_list.h.
//
// Per sample, on the calling (loader worker) thread:
//   1. read the file into a per-thread byte buffer (POSIX read; the buffer only grows);
//   2. cv::imdecode(IMREAD_COLOR | IMREAD_IGNORE_ORIENTATION) into a per-thread Mat (8-bit BGR);
//   3. crop box from the sample's generator (training) or resize-short + center box (evaluation);
//   4. bilinear (the default): resample_normalize (data/image_resample.h) computes the output
//      window's pixels only (for evaluation, not the parts of the resized image the crop drops),
//      flipped and in RGB order, normalized, straight into the loader's batch buffer as float32
//      (H, W, 3), in one pass with per-thread tables;
//      area: cv::resize of the box (a view into the decoded image, no copy) into a per-thread Mat,
//      then per row flip and BGR -> RGB into a byte row and a vectorized normalize pass.
// The per-thread Mats use ReusableMatAllocator, so image buffers are not reallocated per sample;
// what remains per sample is OpenCV's own decoder bookkeeping (a decoder object and libjpeg's
// small pools), measured in bench/RESULTS.md.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <system_error>
#include <vector>

#include "data/image_header.h"
#include "data/image_list.h"
#include "data/image_resample.h"
#include "data/image_transforms.h"
#include "data/opencv/reusable_mat_allocator.h"
#include "nn/error.h"

namespace qf {

namespace {

// Per-thread buffers, reused by every sample a thread decodes (of any image-list dataset).
struct Scratch {
  ReusableMatAllocator decoded_alloc;  // before the Mats: it must outlive them
  ReusableMatAllocator resized_alloc;
  cv::Mat decoded;
  cv::Mat resized;
  std::unique_ptr<uint8_t[]> bytes;
  size_t bytes_capacity = 0;
  std::string path;
  std::vector<uint8_t> rgb_row;  // one output row as RGB bytes, flipped if drawn (area)
  ResampleScratch resample;      // tables and row buffers of the bilinear path

  Scratch() {
    decoded.allocator = &decoded_alloc;
    resized.allocator = &resized_alloc;
  }
};

Scratch& scratch() {
  static thread_local Scratch s;
  return s;
}

// Reads the whole file into s.bytes; returns its size, or -1 with `why` set.
int64_t read_file(Scratch& s, std::string& why) {
  // O_NONBLOCK: a FIFO named in the list must not block the loader in open(); it is refused as
  // not a regular file below (regular files ignore the flag).
  const int fd = ::open(s.path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    why = std::generic_category().message(errno);
    return -1;
  }
  struct stat st;
  int64_t size = -1;
  if (::fstat(fd, &st) != 0) {
    why = std::generic_category().message(errno);
  } else if (!S_ISREG(st.st_mode)) {
    why = "is not a regular file";
  } else if (st.st_size == 0) {
    why = "is empty";
  } else if (st.st_size > (int64_t{1} << 30)) {
    why = "is larger than 1 GiB";
  } else {
    size = st.st_size;
  }
  if (size > 0 && static_cast<size_t>(size) > s.bytes_capacity) {
    s.bytes = std::make_unique_for_overwrite<uint8_t[]>(static_cast<size_t>(size));
    s.bytes_capacity = static_cast<size_t>(size);
  }
  int64_t done = 0;
  while (size > 0 && done < size) {
    const ssize_t n = ::read(fd, s.bytes.get() + done, static_cast<size_t>(size - done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = n < 0 ? std::generic_category().message(errno) : "was truncated while reading";
      size = -1;
      break;
    }
    done += n;
  }
  ::close(fd);
  return size;
}

class ImageListDataset final : public Dataset {
 public:
  explicit ImageListDataset(const ImageListOptions& o) : o_(o), list_(ImageList::read(o)) {
    if (o_.crop_size < 1)
      throw_input_error("image list: crop size ", o_.crop_size, " is not allowed (1 or more)");
    if (!o_.train && o_.resize_short < o_.crop_size)
      throw_input_error("image list: resize_short ", o_.resize_short, " is smaller than the crop ",
                        o_.crop_size, " (allowed: resize_short >= crop_size)");
    // y = x * scale[c] + bias[c], repeated for every pixel of a row so the loop vectorizes.
    const float mean[3] = {0.485f * 255.f, 0.456f * 255.f, 0.406f * 255.f};
    const float std[3] = {0.229f * 255.f, 0.224f * 255.f, 0.225f * 255.f};
    scale_.resize(static_cast<size_t>(3 * o_.crop_size));
    bias_.resize(scale_.size());
    for (size_t k = 0; k < scale_.size(); ++k) {
      scale_[k] = 1.f / std[k % 3];
      bias_[k] = -mean[k % 3] / std[k % 3];
    }
    bad_ = std::make_unique<std::atomic<uint8_t>[]>(static_cast<size_t>(list_.size()));
  }

  int64_t size() const override { return list_.size(); }
  Shape sample_shape() const override { return {3, o_.crop_size, o_.crop_size}; }
  int num_classes() const override { return o_.num_classes; }

  std::string describe() const override {
    const std::string transform =
        o_.train ? str_cat("RandomResizedCrop ", o_.crop_size, " + flip")
                 : str_cat("resize ", o_.resize_short, " + center crop ", o_.crop_size);
    return str_cat("image list ", list_.list_path(), " (", list_.size(), " images, ", transform,
                   ")");
  }

  int32_t get(int64_t index, float* out, SampleRng& rng) const override {
    Scratch& s = scratch();
    std::string why;
    int64_t i = index;
    if (!o_.skip_bad) {
      if (!load(i, s, why))
        throw_input_error(list_.list_path(), ":", list_.line(i), ": image '", s.path, "' ", why,
                          " (data.skip_bad replaces unreadable images)");
    } else {
      i = load_or_substitute(index, s);
    }
    if (o_.train)
      transform_train(s, out, rng);
    else
      transform_eval(s, out);
    return list_.label(i);
  }

  ImageListStats stats() const {
    return {list_.skipped_lines(), bad_count_.load(), substitutions_.load()};
  }

 private:
  // Reads and decodes sample i into s.decoded (8-bit, 3 channels, BGR).
  bool load(int64_t i, Scratch& s, std::string& why) const {
    list_.full_path(i, s.path);
    const int64_t n = read_file(s, why);
    if (n < 0) return false;
    if (!size_allowed(s.bytes.get(), static_cast<size_t>(n), why)) return false;
    const cv::Mat raw(1, static_cast<int>(n), CV_8UC1, s.bytes.get());
    // imdecode leaves `dst` as it was when no decoder takes the bytes, so a failure is told by
    // its (empty) result, and the previous image is dropped first (the allocator keeps the block).
    s.decoded.release();
    bool ok = false;
    try {
      ok = !cv::imdecode(raw, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION, &s.decoded).empty();
    } catch (const cv::Exception& e) {
      why = "cannot be decoded (" + e.msg + ")";
      return false;
    }
    if (!ok || s.decoded.empty()) {
      why = "is not an image OpenCV can decode (JPEG, PNG, BMP, TIFF, WebP, ...)";
      return false;
    }
    QF_CHECK(s.decoded.type() == CV_8UC3, "imdecode gave type ", s.decoded.type());
    if (static_cast<int64_t>(s.decoded.cols) * s.decoded.rows > o_.max_image_pixels) {
      why = str_cat("decoded to ", s.decoded.cols, "x", s.decoded.rows,
                    " pixels, more than its header said and than data.max_image_pixels (",
                    o_.max_image_pixels, ")");
      return false;
    }
    return true;
  }

  // The header's size against max_image_pixels, before any pixel is decoded.
  bool size_allowed(const uint8_t* bytes, size_t n, std::string& why) const {
    const std::optional<ImageSize> size = image_size_from_header(bytes, n);
    if (!size) {
      why =
          "is not an image OpenCV can decode (no JPEG, PNG, BMP, WebP, TIFF, JPEG 2000, PNM, "
          "PFM, Sun raster, Radiance HDR or OpenEXR header)";
      return false;
    }
    if (size->width > o_.max_image_pixels / size->height) {
      why = str_cat("is ", size->width, "x", size->height,
                    " pixels, more than data.max_image_pixels (", o_.max_image_pixels,
                    "; raise it for larger images)");
      return false;
    }
    return true;
  }

  int64_t load_or_substitute(int64_t index, Scratch& s) const {
    const int64_t n = list_.size();
    std::string why;
    for (int64_t k = 0; k < n; ++k) {
      const int64_t j = (index + k) % n;
      if (bad_[static_cast<size_t>(j)].load(std::memory_order_relaxed)) continue;
      if (load(j, s, why)) {
        if (k > 0) substitutions_.fetch_add(1, std::memory_order_relaxed);
        return j;
      }
      if (bad_[static_cast<size_t>(j)].exchange(1) == 0) {
        bad_count_.fetch_add(1, std::memory_order_relaxed);
        warn(str_cat(list_.list_path(), ":", list_.line(j), ": image '", s.path, "' ", why,
                     "; replaced by the next readable sample (data.skip_bad)"));
      }
    }
    throw_input_error(list_.list_path(), ": none of its ", n, " images can be read");
  }

  void warn(const std::string& msg) const {
    if (o_.warn)
      o_.warn(msg);
    else
      std::fprintf(stderr, "qforge: warning: %s\n", printable_line(msg).c_str());
  }

  int cv_interpolation() const {
    return o_.interpolation == Interpolation::area ? cv::INTER_AREA : cv::INTER_LINEAR;
  }

  static ImageView view(const cv::Mat& m) {
    return {m.data, m.cols, m.rows, static_cast<int64_t>(m.step[0])};
  }

  void transform_train(Scratch& s, float* out, SampleRng& rng) const {
    RngUniform u(rng);
    const CropBox box = random_resized_crop_box(s.decoded.cols, s.decoded.rows, u);
    const bool flip = random_flip(u);
    const int n = o_.crop_size;
    if (o_.interpolation == Interpolation::bilinear) {
      const ResampleSpec spec{box, n, n, 0, 0, n, flip};
      resample_normalize(view(s.decoded), spec, {scale_.data(), bias_.data()}, out, s.resample);
      return;
    }
    const cv::Mat roi = s.decoded(cv::Rect(box.left, box.top, box.width, box.height));
    cv::resize(roi, s.resized, cv::Size(o_.crop_size, o_.crop_size), 0, 0, cv_interpolation());
    write_normalized(s.resized, 0, 0, flip, out, s);
  }

  void transform_eval(Scratch& s, float* out) const {
    const Size2 rs = resize_short_size(s.decoded.cols, s.decoded.rows, o_.resize_short);
    if (o_.interpolation == Interpolation::bilinear) {
      const int n = o_.crop_size;
      const CropBox box = center_crop_box(rs.width, rs.height, n, n);
      const CropBox whole{0, 0, s.decoded.rows, s.decoded.cols};
      const ResampleSpec spec{whole, rs.width, rs.height, box.top, box.left, n, false};
      resample_normalize(view(s.decoded), spec, {scale_.data(), bias_.data()}, out, s.resample);
      return;
    }
    cv::resize(s.decoded, s.resized, cv::Size(rs.width, rs.height), 0, 0, cv_interpolation());
    const CropBox box = center_crop_box(rs.width, rs.height, o_.crop_size, o_.crop_size);
    write_normalized(s.resized, box.top, box.left, false, out, s);
  }

  // (H, W, 3) RGB floats from the crop_size square of `img` (BGR) at (top, left): per row, the
  // bytes are reordered to RGB (and mirrored) first, then normalized in one vectorizable pass
  // (4x faster than a lookup table per channel, measured: 53 vs 213 us per 224x224 sample).
  void write_normalized(const cv::Mat& img, int top, int left, bool flip, float* out,
                        Scratch& s) const {
    const int n = o_.crop_size;
    const size_t row_len = 3 * static_cast<size_t>(n);
    if (s.rgb_row.size() < row_len) s.rgb_row.resize(row_len);
    uint8_t* rgb = s.rgb_row.data();
    const float* scale = scale_.data();
    const float* bias = bias_.data();
    for (int y = 0; y < n; ++y) {
      const uint8_t* row = img.ptr<uint8_t>(top + y) + 3 * left;
      for (int x = 0; x < n; ++x) {
        const uint8_t* p = row + 3 * (flip ? n - 1 - x : x);
        rgb[3 * x] = p[2];
        rgb[3 * x + 1] = p[1];
        rgb[3 * x + 2] = p[0];
      }
      for (size_t k = 0; k < row_len; ++k) out[k] = static_cast<float>(rgb[k]) * scale[k] + bias[k];
      out += row_len;
    }
  }

  ImageListOptions o_;
  ImageList list_;
  std::vector<float> scale_, bias_;  // per element of an RGB row: 1 / std, -mean / std
  std::unique_ptr<std::atomic<uint8_t>[]> bad_;
  mutable std::atomic<int64_t> bad_count_{0};
  mutable std::atomic<int64_t> substitutions_{0};
};

}  // namespace

bool image_list_available() {
  return true;
}

std::unique_ptr<Dataset> open_image_list(const ImageListOptions& options) {
  return std::make_unique<ImageListDataset>(options);
}

ImageListStats image_list_stats(const Dataset& dataset) {
  const auto* d = dynamic_cast<const ImageListDataset*>(&dataset);
  return d ? d->stats() : ImageListStats{};
}

}  // namespace qf
