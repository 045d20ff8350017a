// Small files must not make the loaders allocate or read gigabytes, and list paths must mean what
// they say:
//   - idx: the size a header declares is checked before it is allocated, against data.max_idx_mb
//     and against what the file can hold (a gzip file can expand at most 1032 times); gzip is read
//     as a stream, exactly the declared bytes plus one, so a file that expands to gigabytes past
//     its header costs nothing;
//   - images: the header's width and height are read without decoding (data/image_header.h), for
//     every format the decoder takes, from hand-made headers;
//   - image lists: a path holding a NUL byte is a bad line (the file system would open the part
//     before it), and the message shows the byte instead of being cut at it.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <string>
#include <vector>

#include "data/image_header.h"
#include "data/image_list.h"
#include "data/mnist.h"
#include "tests/io/temp_dir.h"

namespace qf {
namespace {

using test::expect_input_error;
using test::TempDir;
using test::write_raw;
using Bytes = std::vector<uint8_t>;

void put_be32(std::string& b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<char>(v >> shift));
}

std::string idx_header(uint32_t magic, std::vector<uint32_t> dims) {
  std::string b;
  put_be32(b, magic);
  for (uint32_t d : dims) put_be32(b, d);
  return b;
}

// Writes `head` and then `zeros` zero bytes as gzip, streaming (the zeros never exist in memory).
void write_gzip(const std::string& path, const std::string& head, uint64_t zeros) {
  gzFile f = gzopen(path.c_str(), "wb9");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, head.data(), static_cast<unsigned>(head.size())),
            static_cast<int>(head.size()));
  const std::vector<char> block(1 << 20, 0);
  for (uint64_t done = 0; done < zeros;) {
    const auto n = static_cast<unsigned>(std::min<uint64_t>(block.size(), zeros - done));
    ASSERT_EQ(gzwrite(f, block.data(), n), static_cast<int>(n));
    done += n;
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

// An MNIST folder whose training images file is `images` (gzip) and whose labels are good.
struct IdxRoot {
  TempDir dir;
  std::string images = dir.file("train-images-idx3-ubyte.gz");
  IdxRoot() {
    write_raw(dir.file("train-labels-idx1-ubyte"), idx_header(2049, {3}) + std::string(3, '\1'));
  }
  std::string root() const { return dir.path().string(); }
};

TEST(IdxBounds, DeclaredSizeAboveTheCapIsRefusedBeforeReading) {
  IdxRoot r;
  // 40 images of 256x256 = 2.5 MiB, with a 1 MiB cap.
  write_gzip(r.images, idx_header(2051, {40, 256, 256}), 40 * 256 * 256);
  expect_input_error([&] { MnistDataset(r.root(), "train", {}, 1 << 20); }, r.images,
                     "more than data.max_idx_mb allows (1 MiB");
  // The same file within a larger cap reads (and then fails on the 3 labels, as it should).
  expect_input_error([&] { MnistDataset(r.root(), "train", {}, 4 << 20); },
                     r.dir.file("train-labels-idx1-ubyte"), "3 labels");
}

TEST(IdxBounds, HeaderClaimingMoreThanGzipCanHoldIsCorrupt) {
  IdxRoot r;
  // Claims 100000 images of 28x28 (78 MB) in a file of a few dozen bytes.
  write_gzip(r.images, idx_header(2051, {100000, 28, 28}), 10);
  expect_input_error([&] { MnistDataset(r.root(), "train"); }, r.images,
                     "bytes of gzip data can hold; the file is corrupt");
}

TEST(IdxBounds, DataPastTheHeaderIsNotReadWhole) {
  IdxRoot r;
  // A header for 3 images of 2x3, then 256 MiB of zeros (a 250 KB file): one byte past the 18
  // declared is enough to refuse it.
  write_gzip(r.images, idx_header(2051, {3, 2, 3}), uint64_t{256} << 20);
  expect_input_error([&] { MnistDataset(r.root(), "train"); }, r.images,
                     "found more (data after the end)");
}

// Hand-made headers of every format the image-list decoder takes.
std::string le16(uint32_t v) {
  return {static_cast<char>(v), static_cast<char>(v >> 8)};
}
std::string le32(uint32_t v) {
  return le16(v) + le16(v >> 16);
}
std::string be16(uint32_t v) {
  return {static_cast<char>(v >> 8), static_cast<char>(v)};
}
std::string be32(uint32_t v) {
  return be16(v >> 16) + be16(v);
}

std::optional<ImageSize> size_of(const std::string& bytes) {
  return image_size_from_header(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

void expect_size(const std::string& bytes, int64_t w, int64_t h, const char* format) {
  const auto s = size_of(bytes);
  ASSERT_TRUE(s.has_value()) << format;
  EXPECT_EQ(s->width, w) << format;
  EXPECT_EQ(s->height, h) << format;
  // Cut anywhere inside the header, it gives no size (and reads nothing past the end).
  for (size_t n = 0; n + 1 < bytes.size(); ++n) {
    const auto cut = size_of(bytes.substr(0, n));
    if (cut) EXPECT_TRUE(cut->width == w && cut->height == h) << format << " cut at " << n;
  }
}

TEST(ImageHeader, ReadsEveryFormatsSize) {
  const std::string app0 = "\xff\xe0" + be16(16) + std::string(14, 'j');
  expect_size("\xff\xd8" + app0 + "\xff\xc2" + be16(17) + "\x08" + be16(20000) + be16(30000) +
                  std::string(12, 0),
              30000, 20000, "JPEG (progressive)");
  expect_size(
      "\x89PNG\r\n\x1a\n" + be32(13) + "IHDR" + be32(20000) + be32(20000) + std::string(5, 0),
      20000, 20000, "PNG");
  expect_size("BM" + std::string(12, 0) + le32(40) + le32(640) + le32(static_cast<uint32_t>(-480)) +
                  std::string(28, 0),
              640, 480, "BMP (top-down)");
  expect_size("RIFF" + le32(100) + "WEBPVP8 " + le32(80) + std::string(3, 0) + "\x9d\x01\x2a" +
                  le16(1024) + le16(768),
              1024, 768, "WebP lossy");
  const uint32_t l_bits = (300 - 1) | ((200 - 1) << 14);
  expect_size("RIFF" + le32(100) + "WEBPVP8L" + le32(80) + "\x2f" + le32(l_bits), 300, 200,
              "WebP lossless");
  expect_size("RIFF" + le32(100) + "WEBPVP8X" + le32(10) + le32(0) + le16(4999) +
                  std::string(1, 0) + le16(2999) + std::string(1, 0),
              5000, 3000, "WebP extended");
  // TIFF, little endian: IFD at 8 with ImageWidth (SHORT) and ImageLength (LONG).
  expect_size("II*" + std::string(1, 0) + le32(8) + le16(2) + le16(256) + le16(3) + le32(1) +
                  le16(123) + le16(0) + le16(257) + le16(4) + le32(1) + le32(45678),
              123, 45678, "TIFF");
  expect_size(std::string("MM\0*", 4) + be32(8) + be16(2) + be16(256) + be16(4) + be32(1) +
                  be32(777) + be16(257) + be16(3) + be32(1) + be16(555) + be16(0),
              777, 555, "TIFF big-endian");
  const std::string siz = "\xff\x4f\xff\x51" + be16(41) + be16(0) + be32(2100) + be32(1100) +
                          be32(100) + be32(100) + std::string(20, 0);
  expect_size(siz, 2000, 1000, "JPEG 2000 codestream");
  expect_size(std::string("\x00\x00\x00\x0cjP  \r\n\x87\n", 12) + be32(20) + "ftypjp2 " +
                  std::string(8, 0) + be32(30) + "jp2h" + be32(22) + "ihdr" + be32(480) +
                  be32(640) + std::string(6, 0),
              640, 480, "JP2");
  expect_size("P6\n# a comment\n640 480\n255\n", 640, 480, "PPM");
  expect_size("P7\nWIDTH 32\nHEIGHT 16\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n", 32, 16,
              "PAM");
  expect_size("PF\n100 50\n-1.0\n", 100, 50, "PFM");
  expect_size(be32(0x59A66A95) + be32(800) + be32(600) + be32(24) + std::string(16, 0), 800, 600,
              "Sun raster");
  expect_size("#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 480 +X 640\n", 640, 480, "Radiance HDR");
  const std::string attr = std::string("dataWindow\0box2i\0", 17) + le32(16) + le32(0) + le32(0) +
                           le32(1919) + le32(1079);
  expect_size(le32(20000630) + le32(2) + attr + std::string(1, 0), 1920, 1080, "OpenEXR");
}

TEST(ImageHeader, NoSizeForUnknownOrContradictoryHeaders) {
  EXPECT_FALSE(size_of("this is not an image, only some text"));
  EXPECT_FALSE(size_of(""));
  EXPECT_FALSE(size_of("GIF89a" + le16(10) + le16(10)));  // not a format the decoder takes
  EXPECT_FALSE(size_of("\x89PNG\r\n\x1a\n" + be32(13) + "IHDR" + be32(0) + be32(10)));  // 0 wide
  // A JPEG whose first segment claims to run past the end of the file.
  EXPECT_FALSE(size_of("\xff\xd8\xff\xe0" + be16(60000) + std::string(10, 0)));
  // A TIFF whose first IFD lies outside the file.
  EXPECT_FALSE(size_of("II*" + std::string(1, 0) + le32(1u << 30)));
}

TEST(ImageListPaths, NulByteIsABadLineShownAsBackslashZero) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "train");
  write_raw(dir.file("train/a.png"), "x");
  write_raw(dir.file("train_list.txt"),
            std::string("train/a.png 0\ntrain/a.png\0.evil.png 1\n", 39));
  ImageListOptions o;
  o.root = dir.path().string();
  o.list = "train_list.txt";
  o.split_dir = "train";
  o.num_classes = 10;
  expect_input_error([&] { ImageList::read(o); }, dir.file("train_list.txt") + ":2",
                     "path 'train/a.png\\0.evil.png' holds a NUL byte");
  o.skip_bad = true;
  std::vector<std::string> warnings;
  o.warn = [&](const std::string& w) { warnings.push_back(w); };
  const ImageList l = ImageList::read(o);
  EXPECT_EQ(l.size(), 1);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("NUL byte"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace qf
