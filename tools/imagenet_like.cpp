// write_imagenet_like (contract: imagenet_like.h).
#include "tools/imagenet_like.h"

#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <vector>

#include "data/mnist.h"
#include "io/atomic_file.h"
#include "nn/error.h"

namespace qf {

namespace {

namespace fs = std::filesystem;

const char* const kClassDirs[10] = {"t_shirt", "trouser", "pullover", "dress", "coat",
                                    "sandal",  "shirt",   "sneaker",  "bag",   "ankle_boot"};

void check_options(const ImagenetLikeOptions& o) {
  auto range = [](const char* what, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi)
      throw_input_error("make_imagenet_like: ", what, " ", v, " is outside ", lo, "..", hi);
  };
  if (o.out.empty()) throw_input_error("make_imagenet_like: no output folder given (--out DIR)");
  range("train images", o.train_images, 1, 60000);
  range("val images", o.val_images, 1, 10000);
  range("width", o.width, 8, 8192);
  range("height", o.height, 8, 8192);
  range("quality", o.quality, 1, 100);
  range("gray_every", o.gray_every, 0, 1 << 30);
  range("png_every", o.png_every, 0, 1 << 30);
  if (!(o.noise >= 0 && o.noise <= 128))
    throw_input_error("make_imagenet_like: noise ", o.noise, " is outside 0..128");
}

// The 28x28 garment upscaled to width x height, coloured, noised; 3-channel BGR or 1-channel.
cv::Mat synthesize(const uint8_t* pixels, int rows, int cols, const ImagenetLikeOptions& o,
                   bool gray, std::mt19937_64& rng) {
  const cv::Mat small(rows, cols, CV_8UC1, const_cast<uint8_t*>(pixels));
  cv::Mat big;
  cv::resize(small, big, cv::Size(o.width, o.height), 0, 0, cv::INTER_LINEAR);
  std::uniform_real_distribution<double> colour(0.0, 255.0);
  std::normal_distribution<double> noise(0.0, o.noise);
  double bg[3], fg[3];
  for (int c = 0; c < 3; ++c) {
    bg[c] = colour(rng) * 0.5;
    fg[c] = 96.0 + colour(rng) * 0.625;
  }
  const int channels = gray ? 1 : 3;
  cv::Mat out(o.height, o.width, gray ? CV_8UC1 : CV_8UC3);
  for (int y = 0; y < o.height; ++y) {
    const uint8_t* src = big.ptr<uint8_t>(y);
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int x = 0; x < o.width; ++x) {
      const double a = src[x] / 255.0;
      for (int c = 0; c < channels; ++c) {
        const double v = bg[c] + (fg[c] - bg[c]) * a + (o.noise > 0 ? noise(rng) : 0.0);
        dst[x * channels + c] = cv::saturate_cast<uint8_t>(v);
      }
    }
  }
  return out;
}

}  // namespace

ImagenetLikeSummary write_imagenet_like(const ImagenetLikeOptions& o) {
  check_options(o);
  const std::string source = o.source.empty() ? MnistDataset::default_root() : o.source;
  ImagenetLikeSummary summary;
  std::mt19937_64 rng(o.seed);
  std::error_code ec;
  for (const char* dir : kClassDirs) fs::create_directories(fs::path(o.out) / "train" / dir, ec);
  fs::create_directories(fs::path(o.out) / "val", ec);
  if (ec)
    throw_input_error("make_imagenet_like: cannot create folders in '", o.out, "': ", ec.message());

  int64_t counter = 0;  // over both splits: decides grayscale / PNG
  for (const std::string split : {"train", "val"}) {
    const MnistDataset fmnist(source, split == "train" ? "train" : "test");
    const int count = split == "train" ? o.train_images : o.val_images;
    if (count > fmnist.size())
      throw_input_error("make_imagenet_like: ", count, " ", split, " images asked for, ",
                        fmnist.describe(), " has ", fmnist.size());
    std::string list;
    const auto rows = static_cast<int>(fmnist.sample_shape()[1]);
    const auto cols = static_cast<int>(fmnist.sample_shape()[2]);
    for (int i = 0; i < count; ++i, ++counter) {
      const int32_t label = fmnist.label(i);
      const bool gray = o.gray_every > 0 && counter % o.gray_every == o.gray_every - 1;
      const bool png = !gray && o.png_every > 0 && counter % o.png_every == o.png_every - 1;
      const cv::Mat img = synthesize(fmnist.raw_image(i), rows, cols, o, gray, rng);
      char name[96];
      if (split == "train")
        std::snprintf(name, sizeof name, "train/%s/%s_%05d.%s", kClassDirs[label],
                      kClassDirs[label], i, png ? "png" : "JPEG");
      else
        std::snprintf(name, sizeof name, "val/FMNIST_val_%08d.%s", i + 1, png ? "png" : "JPEG");
      const std::string path = o.out + "/" + name;
      const std::vector<int> params = {cv::IMWRITE_JPEG_QUALITY, o.quality};
      if (!cv::imwrite(path, img, png ? std::vector<int>{} : params))
        throw_input_error("make_imagenet_like: cannot write '", path, "'");
      summary.bytes += static_cast<int64_t>(fs::file_size(path, ec));
      summary.gray += gray;
      summary.png += png;
      (split == "train" ? summary.train : summary.val) += 1;
      list += std::string(name) + " " + std::to_string(label) + "\n";
    }
    write_text_file_atomically(o.out + "/" + split + "_list.txt", list);
  }
  return summary;
}

}  // namespace qf
