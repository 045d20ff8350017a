// MnistDataset: decoding of plain and gzipped idx files written here with known content,
// normalization, every bad-input error (each an InputError naming the file), and the real
// Fashion-MNIST from Debian's dataset-fashion-mnist when it is installed.
#include "data/mnist.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "nn/error.h"
#include "tests/optional_deps.h"

namespace qf {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "qf_mnist_XXXXXX").string();
    QF_CHECK(mkdtemp(pattern.data()) != nullptr, "mkdtemp ", pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

void put_be32(Bytes& b, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(v >> shift));
}

Bytes idx_images(uint32_t count, uint32_t rows, uint32_t cols, const Bytes& pixels,
                 uint32_t magic = 2051) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, count);
  put_be32(b, rows);
  put_be32(b, cols);
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}

Bytes idx_labels(const Bytes& labels, uint32_t magic = 2049) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, static_cast<uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

void write_plain(const std::string& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  QF_CHECK(f.good(), "writing ", path);
}

Bytes gzip_bytes(const Bytes& bytes) {
  TempDir tmp;
  const std::string path = tmp.file("x.gz");
  gzFile f = gzopen(path.c_str(), "wb9");
  QF_CHECK(f != nullptr, "gzopen ", path);
  QF_CHECK(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) ==
               static_cast<int>(bytes.size()),
           "gzwrite");
  QF_CHECK(gzclose(f) == Z_OK, "gzclose");
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_gz(const std::string& path, const Bytes& bytes) {
  write_plain(path, gzip_bytes(bytes));
}

// Three 2x3 training images and two test images with distinct, known pixels.
const Bytes kTrainPixels = {0,  255, 1,  2,   127, 128,  // image 0
                            10, 20,  30, 40,  50,  60,   // image 1
                            3,  6,   9,  200, 220, 240};
const Bytes kTrainLabels = {3, 0, 9};
const Bytes kTestPixels = {7, 7, 7, 7, 7, 7, 100, 101, 102, 103, 104, 105};
const Bytes kTestLabels = {1, 2};

// Writes the four files into `dir`, plain or gzipped.
void write_split_files(const TempDir& dir, bool gz) {
  auto put = [&](const std::string& name, const Bytes& b) {
    gz ? write_gz(dir.file(name + ".gz"), b) : write_plain(dir.file(name), b);
  };
  put("train-images-idx3-ubyte", idx_images(3, 2, 3, kTrainPixels));
  put("train-labels-idx1-ubyte", idx_labels(kTrainLabels));
  put("t10k-images-idx3-ubyte", idx_images(2, 2, 3, kTestPixels));
  put("t10k-labels-idx1-ubyte", idx_labels(kTestLabels));
}

// Decodes every sample of `ds` and checks it against `pixels` normalized as (x - mean) / std.
void expect_samples(const MnistDataset& ds, const Bytes& pixels, const Bytes& labels, float mean,
                    float std) {
  ASSERT_EQ(ds.size(), static_cast<int64_t>(labels.size()));
  const int64_t n = ds.sample_shape()[1] * ds.sample_shape()[2];
  std::vector<float> out(static_cast<size_t>(n));
  SampleRng rng(1);
  for (int64_t i = 0; i < ds.size(); ++i) {
    EXPECT_EQ(ds.get(i, out.data(), rng), labels[static_cast<size_t>(i)]) << "sample " << i;
    for (int64_t k = 0; k < n; ++k) {
      const float x = pixels[static_cast<size_t>(i * n + k)];
      EXPECT_FLOAT_EQ(out[static_cast<size_t>(k)], (x - mean) / std)
          << "sample " << i << " px " << k;
    }
  }
}

// The message of the InputError `f` throws; records a failure when it throws none.
template <class F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an InputError";
  return "";
}

void expect_mentions(const std::string& message, const std::vector<std::string>& parts) {
  EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
  for (const std::string& p : parts)
    EXPECT_NE(message.find(p), std::string::npos) << "'" << message << "' lacks '" << p << "'";
}

TEST(Mnist, DecodesPlainFiles) {
  TempDir dir;
  write_split_files(dir, false);
  const MnistDataset train(dir.str(), "train");
  EXPECT_EQ(train.sample_shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(train.num_classes(), 10);
  EXPECT_EQ(train.images_path(), dir.file("train-images-idx3-ubyte"));
  expect_samples(train, kTrainPixels, kTrainLabels, 127.5f, 127.5f);
  EXPECT_EQ(train.raw_image(1)[2], 30);
  EXPECT_EQ(train.label(2), 9);
  expect_mentions(train.describe(), {"train", dir.str(), "3 images", "2x3"});

  const MnistDataset test(dir.str(), "test");
  EXPECT_EQ(test.labels_path(), dir.file("t10k-labels-idx1-ubyte"));
  expect_samples(test, kTestPixels, kTestLabels, 127.5f, 127.5f);
}

TEST(Mnist, DecodesGzipFiles) {
  TempDir dir;
  write_split_files(dir, true);
  const MnistDataset train(dir.str(), "train");
  EXPECT_EQ(train.images_path(), dir.file("train-images-idx3-ubyte.gz"));
  expect_samples(train, kTrainPixels, kTrainLabels, 127.5f, 127.5f);
  expect_samples(MnistDataset(dir.str(), "test"), kTestPixels, kTestLabels, 127.5f, 127.5f);
}

TEST(Mnist, DefaultNormalizationMapsBytesOntoMinusOneToOne) {
  TempDir dir;
  write_split_files(dir, false);
  const MnistDataset train(dir.str(), "train");
  std::array<float, 6> out{};
  SampleRng rng(0);
  train.get(0, out.data(), rng);
  EXPECT_EQ(out[0], -1.f);                  // byte 0
  EXPECT_EQ(out[1], 1.f);                   // byte 255
  EXPECT_FLOAT_EQ(out[4], -0.5f / 127.5f);  // byte 127
  EXPECT_FLOAT_EQ(out[5], 0.5f / 127.5f);   // byte 128
}

TEST(Mnist, CustomNormalization) {
  TempDir dir;
  write_split_files(dir, false);
  expect_samples(MnistDataset(dir.str(), "train", Normalize{{0.f}, {255.f}}), kTrainPixels,
                 kTrainLabels, 0.f, 255.f);
  expect_samples(MnistDataset(dir.str(), "train", Normalize{{33.3f}, {-2.f}}), kTrainPixels,
                 kTrainLabels, 33.3f, -2.f);
  expect_mentions(input_error_of([&] {
                    MnistDataset(dir.str(), "train", Normalize{{0.f}, {0.f}});
                  }),
                  {"normalize", "std 0"});
  expect_mentions(input_error_of([&] {
                    MnistDataset(dir.str(), "train", Normalize{{1.f, 2.f, 3.f}, {1.f}});
                  }),
                  {"normalize", "mean has 3 values"});
}

TEST(Mnist, PlainFileWinsOverGzip) {
  TempDir dir;
  write_split_files(dir, true);
  Bytes other = kTrainPixels;
  for (uint8_t& p : other) p = static_cast<uint8_t>(255 - p);
  write_plain(dir.file("train-images-idx3-ubyte"), idx_images(3, 2, 3, other));
  const MnistDataset train(dir.str(), "train");
  EXPECT_EQ(train.images_path(), dir.file("train-images-idx3-ubyte"));
  EXPECT_EQ(train.labels_path(), dir.file("train-labels-idx1-ubyte.gz"));
  expect_samples(train, other, kTrainLabels, 127.5f, 127.5f);
}

TEST(Mnist, RejectsUnknownSplit) {
  TempDir dir;
  write_split_files(dir, false);
  expect_mentions(input_error_of([&] { MnistDataset(dir.str(), "val"); }),
                  {"'val'", "train, test"});
}

TEST(MnistErrors, MissingRootNamesPackageAndFlag) {
  TempDir dir;
  const std::string root = dir.file("nowhere");
  expect_mentions(
      input_error_of([&] { MnistDataset(root, "train"); }),
      {root, "does not exist", "dataset-fashion-mnist", "apt-get install dataset-fashion-mnist",
       "--data.root DIR", "train-images-idx3-ubyte"});
  write_plain(root, {1, 2, 3});
  expect_mentions(input_error_of([&] { MnistDataset(root, "train"); }),
                  {root, "not a folder", "--data.root"});
}

TEST(MnistErrors, MissingFile) {
  TempDir dir;
  write_split_files(dir, false);
  fs::remove(dir.file("t10k-labels-idx1-ubyte"));
  expect_mentions(input_error_of([&] { MnistDataset(dir.str(), "test"); }),
                  {dir.file("t10k-labels-idx1-ubyte"), "not found", ".gz"});
  EXPECT_NO_THROW(MnistDataset(dir.str(), "train"));
}

TEST(MnistErrors, BadMagic) {
  TempDir dir;
  write_split_files(dir, false);
  // A labels file where the images belong.
  write_plain(dir.file("train-images-idx3-ubyte"), idx_images(3, 2, 3, kTrainPixels, 2049));
  expect_mentions(input_error_of([&] { MnistDataset(dir.str(), "train"); }),
                  {dir.file("train-images-idx3-ubyte"), "magic", "expected 2051", "found 2049"});
  write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), idx_labels(kTestLabels, 0x12345678));
  fs::remove(dir.file("t10k-labels-idx1-ubyte"));
  expect_mentions(
      input_error_of([&] { MnistDataset(dir.str(), "test"); }),
      {dir.file("t10k-labels-idx1-ubyte.gz"), "magic", "expected 2049", "found 305419896"});
}

TEST(MnistErrors, TruncatedFiles) {
  TempDir dir;
  write_split_files(dir, false);
  Bytes images = idx_images(3, 2, 3, kTrainPixels);  // 16 + 18 = 34 bytes
  images.resize(30);
  write_plain(dir.file("train-images-idx3-ubyte"), images);
  expect_mentions(
      input_error_of([&] { MnistDataset(dir.str(), "train"); }),
      {dir.file("train-images-idx3-ubyte"), "truncated", "expected 34 bytes", "found 30"});
  images.resize(10);  // not even a header
  write_plain(dir.file("train-images-idx3-ubyte"), images);
  expect_mentions(input_error_of([&] { MnistDataset(dir.str(), "train"); }),
                  {dir.file("train-images-idx3-ubyte"), "truncated", "16 bytes", "found 10"});

  Bytes labels = idx_labels(kTestLabels);  // 8 + 2 bytes
  labels.pop_back();
  write_gz(dir.file("t10k-labels-idx1-ubyte.gz"), labels);
  fs::remove(dir.file("t10k-labels-idx1-ubyte"));
  expect_mentions(
      input_error_of([&] { MnistDataset(dir.str(), "test"); }),
      {dir.file("t10k-labels-idx1-ubyte.gz"), "truncated", "expected 10 bytes", "found 9"});
}

TEST(MnistErrors, TrailingDataAndEmptyHeaders) {
  TempDir dir;
  write_split_files(dir, false);
  Bytes images = idx_images(3, 2, 3, kTrainPixels);
  images.push_back(0);
  write_plain(dir.file("train-images-idx3-ubyte"), images);
  expect_mentions(input_error_of([&] { MnistDataset(dir.str(), "train"); }),
                  {dir.file("train-images-idx3-ubyte"), "expected 34 bytes", "found 35"});
  write_plain(dir.file("train-images-idx3-ubyte"), idx_images(3, 0, 3, {}));
  expect_mentions(input_error_of([&] { MnistDataset(dir.str(), "train"); }),
                  {dir.file("train-images-idx3-ubyte"), "0x3"});
  write_plain(dir.file("train-images-idx3-ubyte"), idx_images(0, 2, 3, {}));
  expect_mentions(input_error_of([&] { MnistDataset(dir.str(), "train"); }),
                  {dir.file("train-images-idx3-ubyte"), "0 images"});
}

TEST(MnistErrors, CountMismatch) {
  TempDir dir;
  write_split_files(dir, false);
  write_plain(dir.file("train-labels-idx1-ubyte"), idx_labels({1, 2, 3, 4}));
  expect_mentions(input_error_of([&] { MnistDataset(dir.str(), "train"); }),
                  {dir.file("train-labels-idx1-ubyte"), "4 labels",
                   dir.file("train-images-idx3-ubyte"), "3 images"});
}

TEST(MnistErrors, CorruptGzip) {
  TempDir dir;
  write_split_files(dir, true);
  // Enough incompressible-ish pixels that the middle of the file is deflate data.
  Bytes pixels(200 * 2 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>((i * 7919u) >> 3);
  Bytes gz = gzip_bytes(idx_images(200, 2, 3, pixels));
  ASSERT_GT(gz.size(), 100u);
  Bytes corrupt = gz;
  for (size_t i = corrupt.size() / 2; i < corrupt.size() / 2 + 8; ++i) corrupt[i] ^= 0xA5;
  const std::string path = dir.file("train-images-idx3-ubyte.gz");
  write_plain(path, corrupt);
  expect_mentions(input_error_of([&] { MnistDataset(dir.str(), "train"); }),
                  {path, "gzip", "zlib"});

  Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  write_plain(path, cut);
  expect_mentions(input_error_of([&] { MnistDataset(dir.str(), "train"); }),
                  {path, "truncated gzip"});

  write_plain(path, idx_images(3, 2, 3, kTrainPixels));  // plain bytes under a .gz name
  expect_mentions(input_error_of([&] { MnistDataset(dir.str(), "train"); }), {path, "not gzip"});
}

TEST(MnistErrors, LabelOutOfRange) {
  TempDir dir;
  write_split_files(dir, false);
  write_plain(dir.file("train-labels-idx1-ubyte"), idx_labels({3, 9, 10}));
  expect_mentions(input_error_of([&] { MnistDataset(dir.str(), "train"); }),
                  {dir.file("train-labels-idx1-ubyte"), "label 10", "index 2", "0..9"});
}

TEST(FashionMnist, LoadsDebianPackage) {
  const std::string root = MnistDataset::default_root();
  QF_SKIP_UNLESS(fs::exists(root),
                 root << " is missing: apt-get install dataset-fashion-mnist to run this test");
  const MnistDataset train(root, "train");
  const MnistDataset test(root, "test");
  EXPECT_EQ(train.size(), 60000);
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(train.sample_shape(), (Shape{1, 28, 28}));
  EXPECT_EQ(test.sample_shape(), (Shape{1, 28, 28}));
  expect_mentions(train.describe(), {"Fashion-MNIST", "train", root});
  // Fashion-MNIST is balanced: 6000 training and 1000 test images per class.
  std::array<int, 10> train_counts{}, test_counts{};
  for (int64_t i = 0; i < train.size(); ++i) ++train_counts[static_cast<size_t>(train.label(i))];
  for (int64_t i = 0; i < test.size(); ++i) ++test_counts[static_cast<size_t>(test.label(i))];
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(train_counts[static_cast<size_t>(c)], 6000) << "class " << c;
    EXPECT_EQ(test_counts[static_cast<size_t>(c)], 1000) << "class " << c;
  }
  // The first labels of each split (ankle boot, t-shirt, ...), as published.
  const std::vector<int> train_first = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
  const std::vector<int> test_first = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(train.label(i), train_first[static_cast<size_t>(i)]) << "train " << i;
    EXPECT_EQ(test.label(i), test_first[static_cast<size_t>(i)]) << "test " << i;
  }
  std::vector<float> out(28 * 28);
  SampleRng rng(0);
  EXPECT_EQ(train.get(0, out.data(), rng), 9);
  int sum = 0;
  for (int k = 0; k < 28 * 28; ++k) {
    EXPECT_GE(out[static_cast<size_t>(k)], -1.f);
    EXPECT_LE(out[static_cast<size_t>(k)], 1.f);
    sum += train.raw_image(0)[k];
  }
  EXPECT_EQ(sum, 76247);  // byte sum of the first training image
}

}  // namespace
}  // namespace qf
