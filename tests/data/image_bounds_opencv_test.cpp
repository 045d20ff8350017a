// Image sizes read from headers agree with what OpenCV's own encoders write, for every format the
// image-list decoder takes; an image larger than data.max_image_pixels is refused before it is
// decoded, naming the list line, the file and its size (or, with skip_bad, replaced like any
// unreadable image).
#include <gtest/gtest.h>

#include <cstdlib>
#include <opencv2/imgcodecs.hpp>

#include "data/image_header.h"
#include "data/image_list.h"
#include "tests/io/temp_dir.h"

namespace qf {
namespace {

using test::expect_input_error;
using test::TempDir;
using test::write_raw;

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(ImageHeaderOpenCv, AgreesWithOpenCvsEncoders) {
  ::setenv("OPENCV_IO_ENABLE_OPENEXR", "1", 0);  // OpenCV writes EXR only when asked to
  TempDir dir;
  const cv::Mat bytes(23, 37, CV_8UC3, cv::Scalar(10, 200, 30));
  cv::Mat floats;
  bytes.convertTo(floats, CV_32FC3, 1 / 255.0);
  const cv::Mat gray(23, 37, CV_8UC1, cv::Scalar(100));
  int checked = 0;
  for (const char* ext : {".jpg", ".png", ".bmp", ".tif", ".webp", ".jp2", ".ppm", ".pgm", ".pbm",
                          ".pam", ".ras", ".pfm", ".hdr", ".exr"}) {
    const std::string ext_s = ext;
    const bool is_float = ext_s == ".pfm" || ext_s == ".hdr" || ext_s == ".exr";
    const bool is_gray = ext_s == ".pgm" || ext_s == ".pbm";
    const std::string path = dir.file(std::string("img") + ext);
    bool written = false;
    std::string why;
    try {
      written = cv::imwrite(path, is_float ? floats : is_gray ? gray : bytes);
    } catch (const cv::Exception& e) {
      why = e.what();
    }
    if (!written) {
      std::printf("OpenCV here cannot write %s (%s); not checked\n", ext, why.c_str());
      continue;
    }
    const std::string b = read_bytes(path);
    const auto size = image_size_from_header(reinterpret_cast<const uint8_t*>(b.data()), b.size());
    ASSERT_TRUE(size.has_value()) << ext;
    EXPECT_EQ(size->width, 37) << ext;
    EXPECT_EQ(size->height, 23) << ext;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

struct Root {
  TempDir dir;
  std::vector<std::string> warnings;
  Root() {
    std::filesystem::create_directories(dir.path() / "val");
    EXPECT_TRUE(
        cv::imwrite(dir.file("val/big.png"), cv::Mat(40, 50, CV_8UC3, cv::Scalar(1, 2, 3))));
    EXPECT_TRUE(
        cv::imwrite(dir.file("val/small.png"), cv::Mat(8, 8, CV_8UC3, cv::Scalar(4, 5, 6))));
    write_raw(dir.file("val_list.txt"), "val/big.png 1\nval/small.png 2\n");
  }
  std::unique_ptr<Dataset> open(int64_t max_pixels, bool skip_bad) {
    ImageListOptions o;
    o.root = dir.path().string();
    o.list = "val_list.txt";
    o.num_classes = 10;
    o.crop_size = 4;
    o.resize_short = 4;
    o.max_image_pixels = max_pixels;
    o.skip_bad = skip_bad;
    o.warn = [this](const std::string& w) { warnings.push_back(w); };
    return open_image_list(o);
  }
};

int32_t get(const Dataset& d, int64_t i) {
  std::vector<float> out(static_cast<size_t>(numel(d.sample_shape())));
  SampleRng rng(1);
  return d.get(i, out.data(), rng);
}

TEST(ImageBounds, LargerThanTheCapIsRefusedBeforeDecoding) {
  Root r;
  EXPECT_EQ(get(*r.open(2000, false), 0), 1);  // 50 x 40 = 2000 pixels: allowed
  const auto d = r.open(1999, false);
  expect_input_error([&] { get(*d, 0); }, "val_list.txt:1: image '" + r.dir.file("val/big.png"),
                     "is 50x40 pixels, more than data.max_image_pixels (1999");
  EXPECT_EQ(get(*d, 1), 2);
  const auto skipping = r.open(1999, true);
  EXPECT_EQ(get(*skipping, 0), 2) << "replaced by the next readable sample";
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("50x40 pixels"), std::string::npos) << r.warnings[0];
}

}  // namespace
}  // namespace qf
