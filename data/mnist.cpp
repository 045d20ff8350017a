// MNIST / Fashion-MNIST idx reader: file lookup, plain and gzip reading, header validation.
// Contract: data/mnist.h.
#include "data/mnist.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "nn/error.h"

namespace qf {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kImagesMagic = 2051;  // 0x00000803: idx, unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 2049;  // 0x00000801: idx, unsigned bytes, 1 dimension
constexpr size_t kImagesHeader = 16;
constexpr size_t kLabelsHeader = 8;
constexpr uint32_t kMaxSide = 1u << 16;  // rows and cols above this mean a corrupt header
constexpr int kNumClasses = 10;

const char* const kFileList =
    "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and "
    "t10k-labels-idx1-ubyte, each plain or .gz";

uint32_t read_be32(const std::vector<uint8_t>& bytes, size_t offset) {
  return (uint32_t{bytes[offset]} << 24) | (uint32_t{bytes[offset + 1]} << 16) |
         (uint32_t{bytes[offset + 2]} << 8) | uint32_t{bytes[offset + 3]};
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Fails with the packages and flags that provide an MNIST folder when `root` is not one.
void check_root(const std::string& root) {
  std::error_code ec;
  const bool exists = fs::exists(root, ec);
  const std::string remedy = str_cat(
      "install Debian's dataset-fashion-mnist (`apt-get install dataset-fashion-mnist`, which "
      "fills ",
      MnistDataset::default_root(), ") or pass --data.root DIR naming a folder with ", kFileList);
  if (!exists) {
    if (root == MnistDataset::default_root())
      throw_input_error("Fashion-MNIST not found: ", root, " does not exist; ", remedy);
    throw_input_error("data root ", root, " does not exist; ", remedy);
  }
  if (!fs::is_directory(root, ec))
    throw_input_error("data root ", root, " is not a folder; ", remedy);
}

// root/name if it exists, else root/name.gz.
std::string find_idx_file(const std::string& root, const std::string& name) {
  std::error_code ec;
  const fs::path plain = fs::path(root) / name;
  if (fs::is_regular_file(plain, ec)) return plain.string();
  const fs::path gz = fs::path(root) / (name + ".gz");
  if (fs::is_regular_file(gz, ec)) return gz.string();
  throw_input_error(plain.string(), ": file not found (nor ", name, ".gz); an MNIST folder holds ",
                    kFileList);
}

std::vector<uint8_t> read_plain(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw_input_error(path, ": cannot open (", std::strerror(errno), ")");
  std::vector<uint8_t> bytes;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (!ec) bytes.reserve(static_cast<size_t>(size));
  uint8_t chunk[1 << 16];
  size_t got = 0;
  while ((got = std::fread(chunk, 1, sizeof(chunk), f)) > 0)
    bytes.insert(bytes.end(), chunk, chunk + got);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) throw_input_error(path, ": read error (", std::strerror(err), ")");
  return bytes;
}

std::vector<uint8_t> read_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw_input_error(path, ": cannot open (", std::strerror(errno), ")");
  gzbuffer(f, 1 << 18);
  std::vector<uint8_t> bytes(size_t{1} << 20);
  size_t used = 0;
  bool read_failed = false;
  for (;;) {
    if (used == bytes.size()) bytes.resize(bytes.size() * 2);
    const auto want = static_cast<unsigned>(std::min<size_t>(bytes.size() - used, INT_MAX));
    const int got = gzread(f, bytes.data() + used, want);
    if (got < 0) {
      read_failed = true;
      break;
    }
    if (got == 0) break;
    used += static_cast<size_t>(got);
  }
  int zerr = Z_OK;
  std::string zmsg = gzerror(f, &zerr);
  if (zmsg.rfind(path + ": ", 0) == 0) zmsg.erase(0, path.size() + 2);  // zlib prefixes the path
  const bool direct = gzdirect(f) != 0;
  gzclose_r(f);
  if (read_failed || zerr != Z_OK) {
    // zlib reports a stream cut short as Z_BUF_ERROR ("unexpected end of file").
    const char* what = zerr == Z_BUF_ERROR ? "truncated gzip data" : "corrupt gzip data";
    throw_input_error(path, ": ", what, " (zlib: ", zmsg, "); download or unpack it again");
  }
  if (direct && used > 0)
    throw_input_error(path, ": not gzip data (no gzip header), although the name ends in .gz");
  bytes.resize(used);
  return bytes;
}

std::vector<uint8_t> read_file(const std::string& path) {
  return ends_with(path, ".gz") ? read_gzip(path) : read_plain(path);
}

std::string magic_hint(uint32_t found) {
  if (found == kImagesMagic) return " (an images file)";
  if (found == kLabelsMagic) return " (a labels file)";
  return "";
}

void check_magic(const std::string& path, const std::vector<uint8_t>& bytes, size_t header,
                 uint32_t expected, const char* kind) {
  if (bytes.size() < header)
    throw_input_error(path, ": truncated: expected at least ", header, " bytes (the ", kind,
                      " header), found ", bytes.size());
  const uint32_t magic = read_be32(bytes, 0);
  if (magic != expected)
    throw_input_error(path, ": bad magic number: expected ", expected, " (idx ", kind, "), found ",
                      magic, magic_hint(magic));
}

void check_size(const std::string& path, const std::vector<uint8_t>& bytes, uint64_t expected,
                const std::string& layout) {
  if (bytes.size() < expected)
    throw_input_error(path, ": truncated: expected ", expected, " bytes (", layout, "), found ",
                      bytes.size());
  if (bytes.size() > expected)
    throw_input_error(path, ": expected ", expected, " bytes (", layout, "), found ", bytes.size(),
                      " (data after the end)");
}

}  // namespace

std::string MnistDataset::default_root() {
  return "/usr/share/datasets/fashion-mnist";
}

MnistDataset::MnistDataset(const std::string& root, const std::string& split, Normalize normalize)
    : root_(root), split_(split) {
  if (split != "train" && split != "test")
    throw_input_error("MNIST split '", split, "' is not a split (allowed: train, test)");
  normalize.validate(1, "MNIST normalize");
  table_ = normalize_table(normalize, 0);
  check_root(root);

  const std::string prefix = split == "train" ? "train" : "t10k";
  images_path_ = find_idx_file(root, prefix + "-images-idx3-ubyte");
  labels_path_ = find_idx_file(root, prefix + "-labels-idx1-ubyte");

  images_ = read_file(images_path_);
  check_magic(images_path_, images_, kImagesHeader, kImagesMagic, "images");
  const uint32_t count = read_be32(images_, 4);
  const uint32_t rows = read_be32(images_, 8);
  const uint32_t cols = read_be32(images_, 12);
  if (rows == 0 || cols == 0 || rows > kMaxSide || cols > kMaxSide)
    throw_input_error(images_path_, ": header gives images of ", rows, "x", cols,
                      " pixels (allowed: 1 to ", kMaxSide, " per side)");
  if (count == 0) throw_input_error(images_path_, ": header gives 0 images (allowed: at least 1)");
  const uint64_t pixels = uint64_t{count} * rows * cols;  // < 2^64: count < 2^32, rows*cols <= 2^32
  check_size(images_path_, images_, kImagesHeader + pixels,
             str_cat(kImagesHeader, "-byte header + ", count, " images of ", rows, "x", cols));

  labels_ = read_file(labels_path_);
  check_magic(labels_path_, labels_, kLabelsHeader, kLabelsMagic, "labels");
  const uint32_t label_count = read_be32(labels_, 4);
  check_size(labels_path_, labels_, kLabelsHeader + uint64_t{label_count},
             str_cat(kLabelsHeader, "-byte header + ", label_count, " labels"));
  if (label_count != count)
    throw_input_error(labels_path_, " holds ", label_count, " labels but ", images_path_, " holds ",
                      count, " images (they must match)");
  for (uint32_t i = 0; i < label_count; ++i) {
    const int value = labels_[kLabelsHeader + i];
    if (value >= kNumClasses)
      throw_input_error(labels_path_, ": label ", value, " at index ", i,
                        " is out of range (allowed: 0..", kNumClasses - 1, ")");
  }

  count_ = count;
  rows_ = rows;
  cols_ = cols;
}

const uint8_t* MnistDataset::raw_image(int64_t index) const {
  QF_CHECK(index >= 0 && index < count_, "MNIST index ", index, " outside [0, ", count_, ")");
  return images_.data() + kImagesHeader + static_cast<size_t>(index * rows_ * cols_);
}

int32_t MnistDataset::label(int64_t index) const {
  QF_CHECK(index >= 0 && index < count_, "MNIST index ", index, " outside [0, ", count_, ")");
  return labels_[kLabelsHeader + static_cast<size_t>(index)];
}

int32_t MnistDataset::get(int64_t index, float* out, SampleRng& /*rng*/) const {
  const uint8_t* pixels = raw_image(index);
  const int64_t n = rows_ * cols_;
  for (int64_t k = 0; k < n; ++k) out[k] = table_[pixels[k]];
  return label(index);
}

std::string MnistDataset::describe() const {
  const char* name = root_ == default_root() ? "Fashion-MNIST" : "MNIST-format";
  return str_cat(name, " ", split_, " set, ", root_, " (", count_, " images of ", rows_, "x", cols_,
                 ")");
}

}  // namespace qf
