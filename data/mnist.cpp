// MNIST / Fashion-MNIST idx reader: file lookup, plain and gzip reading, header validation.
// Contract: data/mnist.h.
#include "data/mnist.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "nn/error.h"
#include "nn/input_file.h"

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

// An idx file opened for sequential reading: plain, or gzip decompressed as it is read (zlib's
// transparent mode reads plain bytes under a .gz name, which is refused at the end).
class IdxFile {
 public:
  explicit IdxFile(const std::string& path) : path_(path), gz_(ends_with(path, ".gz")) {
    const int fd = open_input_file(path, "MNIST file");  // a regular file, never a FIFO
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      throw_input_error(path, ": cannot open (", std::strerror(errno), ")");
    }
    stored_ = static_cast<uint64_t>(st.st_size);
    if (gz_) {
      gz_file_ = gzdopen(fd, "rb");  // gzclose_r closes fd
      if (gz_file_) gzbuffer(gz_file_, 1 << 18);
    } else {
      plain_ = ::fdopen(fd, "rb");
    }
    if (!gz_file_ && !plain_) {
      const int err = errno;
      ::close(fd);
      throw_input_error(path, ": cannot open (", std::strerror(err), ")");
    }
  }
  ~IdxFile() {
    if (gz_file_) gzclose_r(gz_file_);
    if (plain_) std::fclose(plain_);
  }
  IdxFile(const IdxFile&) = delete;
  IdxFile& operator=(const IdxFile&) = delete;

  // The most bytes the file can hold once read: its size, or for gzip the size deflate can expand
  // it to at most (1032:1, the format's limit) — a header claiming more is corrupt.
  uint64_t max_content() const { return gz_ ? stored_ * 1032 + 1024 : stored_; }
  bool gzip() const { return gz_; }

  // Reads up to n bytes into dst; fewer only at the end of the data.
  size_t read(uint8_t* dst, size_t n) {
    size_t done = 0;
    while (done < n) {
      const size_t want = std::min<size_t>(n - done, size_t{1} << 30);
      size_t got = 0;
      if (gz_file_) {
        const int r = gzread(gz_file_, dst + done, static_cast<unsigned>(want));
        if (r < 0) gzip_failed();
        if (r > 0 && gzdirect(gz_file_))
          throw_input_error(path_,
                            ": not gzip data (no gzip header), although the name ends in .gz");
        got = static_cast<size_t>(r);
      } else {
        got = std::fread(dst + done, 1, want, plain_);
        if (got < want && std::ferror(plain_))
          throw_input_error(path_, ": read error (", std::strerror(errno), ")");
      }
      if (got == 0) break;
      done += got;
    }
    if (done < n && gz_file_) check_gzip();
    return done;
  }

  // After the declared content: InputError when more data follows. Plain files are judged by their
  // size before reading; gzip data by reading one more byte (never the rest of a bomb).
  void expect_end(uint64_t expected, const std::string& layout) {
    uint8_t extra[1];
    if (read(extra, 1) > 0)
      throw_input_error(path_, ": expected ", expected, " bytes (", layout,
                        ") once decompressed, found more (data after the end)");
  }
  uint64_t stored_size() const { return stored_; }

 private:
  // After a short read: an error unless the stream ended cleanly. zlib reports a stream cut short
  // as Z_BUF_ERROR ("unexpected end of file").
  void check_gzip() {
    int zerr = Z_OK;
    gzerror(gz_file_, &zerr);
    if (zerr != Z_OK) gzip_failed();
  }
  [[noreturn]] void gzip_failed() {
    int zerr = Z_OK;
    std::string zmsg = gzerror(gz_file_, &zerr);
    if (zmsg.rfind(path_ + ": ", 0) == 0)
      zmsg.erase(0, path_.size() + 2);  // zlib prefixes the path
    const char* what = zerr == Z_BUF_ERROR ? "truncated gzip data" : "corrupt gzip data";
    throw_input_error(path_, ": ", what, " (zlib: ", zmsg, "); download or unpack it again");
  }

  std::string path_;
  bool gz_;
  uint64_t stored_ = 0;
  gzFile gz_file_ = nullptr;
  std::FILE* plain_ = nullptr;
};

std::string magic_hint(uint32_t found) {
  if (found == kImagesMagic) return " (an images file)";
  if (found == kLabelsMagic) return " (a labels file)";
  return "";
}

// The idx header: `header` bytes, or InputError saying the file is shorter.
std::vector<uint8_t> read_header(IdxFile& f, const std::string& path, size_t header,
                                 uint32_t expected_magic, const char* kind) {
  std::vector<uint8_t> bytes(header);
  const size_t got = f.read(bytes.data(), header);
  if (got < header)
    throw_input_error(path, ": truncated: expected at least ", header, " bytes (the ", kind,
                      " header), found ", got);
  const uint32_t magic = read_be32(bytes, 0);
  if (magic != expected_magic)
    throw_input_error(path, ": bad magic number: expected ", expected_magic, " (idx ", kind,
                      "), found ", magic, magic_hint(magic));
  return bytes;
}

// Reads the rest of an idx file whose header (already in `bytes`) declares `total` bytes in all,
// checking the declared size before allocating it: against `max_bytes` (data.max_idx_mb), and
// against what the file can hold (its size; for gzip, what deflate can expand it to at most).
void read_content(IdxFile& f, const std::string& path, std::vector<uint8_t>& bytes, uint64_t total,
                  const std::string& layout, uint64_t max_bytes) {
  if (total > max_bytes)
    throw_input_error(path, ": header gives ", layout, ", ", total, " bytes, more than ",
                      "data.max_idx_mb allows (", max_bytes >> 20, " MiB; raise it for a larger ",
                      "dataset)");
  if (total > f.max_content()) {
    if (!f.gzip())
      throw_input_error(path, ": truncated: expected ", total, " bytes (", layout, "), found ",
                        f.stored_size());
    throw_input_error(path, ": header gives ", layout, ", ", total, " bytes, more than its ",
                      f.stored_size(), " bytes of gzip data can hold; the file is corrupt");
  }
  if (!f.gzip() && f.stored_size() > total)
    throw_input_error(path, ": expected ", total, " bytes (", layout, "), found ", f.stored_size(),
                      " (data after the end)");
  const size_t header = bytes.size();
  bytes.resize(static_cast<size_t>(total));
  const size_t got = f.read(bytes.data() + header, static_cast<size_t>(total) - header);
  if (header + got < total)
    throw_input_error(path, ": truncated: expected ", total, " bytes (", layout, "), found ",
                      header + got);
  if (f.gzip()) f.expect_end(total, layout);
}

}  // namespace

std::string MnistDataset::default_root() {
  return "/usr/share/datasets/fashion-mnist";
}

MnistDataset::MnistDataset(const std::string& root, const std::string& split, Normalize normalize,
                           uint64_t max_bytes)
    : root_(root), split_(split) {
  if (split != "train" && split != "test")
    throw_input_error("MNIST split '", split, "' is not a split (allowed: train, test)");
  normalize.validate(1, "MNIST normalize");
  table_ = normalize_table(normalize, 0);
  check_root(root);

  const std::string prefix = split == "train" ? "train" : "t10k";
  images_path_ = find_idx_file(root, prefix + "-images-idx3-ubyte");
  labels_path_ = find_idx_file(root, prefix + "-labels-idx1-ubyte");

  IdxFile images(images_path_);
  images_ = read_header(images, images_path_, kImagesHeader, kImagesMagic, "images");
  const uint32_t count = read_be32(images_, 4);
  const uint32_t rows = read_be32(images_, 8);
  const uint32_t cols = read_be32(images_, 12);
  if (rows == 0 || cols == 0 || rows > kMaxSide || cols > kMaxSide)
    throw_input_error(images_path_, ": header gives images of ", rows, "x", cols,
                      " pixels (allowed: 1 to ", kMaxSide, " per side)");
  if (count == 0) throw_input_error(images_path_, ": header gives 0 images (allowed: at least 1)");
  const uint64_t pixels = uint64_t{count} * rows * cols;  // < 2^64: count < 2^32, rows*cols <= 2^32
  read_content(images, images_path_, images_, kImagesHeader + pixels,
               str_cat(kImagesHeader, "-byte header + ", count, " images of ", rows, "x", cols),
               max_bytes);

  IdxFile labels(labels_path_);
  labels_ = read_header(labels, labels_path_, kLabelsHeader, kLabelsMagic, "labels");
  const uint32_t label_count = read_be32(labels_, 4);
  read_content(labels, labels_path_, labels_, kLabelsHeader + uint64_t{label_count},
               str_cat(kLabelsHeader, "-byte header + ", label_count, " labels"), max_bytes);
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
