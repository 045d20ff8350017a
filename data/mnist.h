// MNIST and Fashion-MNIST from LeCun's idx files.
//
// A root folder holds four files, each plain or gzipped (name + ".gz"; the plain file wins when
// both exist):
//   train-images-idx3-ubyte  train-labels-idx1-ubyte   (split "train")
//   t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte    (split "test")
// idx3 images: big-endian u32 magic 2051, count, rows, cols, then count*rows*cols bytes, row-major.
// idx1 labels: big-endian u32 magic 2049, count, then count bytes, each 0..9.
//
// The constructor reads one split whole into memory as bytes (47 MB for the 60000 training images)
// and validates it; every problem is an InputError that names the file (missing root or file, bad
// magic, wrong size, corrupt gzip, image/label count mismatch, label out of range). The size a
// header declares is checked before it is allocated: against `max_bytes` per file (data.max_idx_mb)
// and against what the file can hold (its size; for gzip, 1032 times it, deflate's limit), and
// gzip data is decompressed as it is read, exactly the declared bytes plus one to detect trailing
// data, so a small file that claims or expands to gigabytes costs nothing. get() then
// writes sample i as rows*cols floats (H, W, C = 1) normalized by `Normalize` (data/transforms.h;
// default (x - 127.5) / 127.5) and returns its label. get() only reads shared state, so any number
// of loader workers may call it at once; it uses no randomness.
//
// default_root() is where Debian's dataset-fashion-mnist package installs Fashion-MNIST.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"

namespace qf {

class MnistDataset final : public Dataset {
 public:
  // split: "train" or "test". `max_bytes`: the largest file accepted, in bytes once decompressed.
  MnistDataset(const std::string& root, const std::string& split, Normalize normalize = {},
               uint64_t max_bytes = kDefaultMaxBytes);

  static constexpr uint64_t kDefaultMaxBytes = uint64_t{2048} << 20;  // 2 GiB

  // /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist).
  static std::string default_root();

  int64_t size() const override { return count_; }
  Shape sample_shape() const override { return {1, rows_, cols_}; }
  int num_classes() const override { return 10; }
  int32_t get(int64_t index, float* out, SampleRng& rng) const override;
  std::string describe() const override;

  // The raw bytes of image `index` (rows*cols, row-major) and its label, before normalization.
  const uint8_t* raw_image(int64_t index) const;
  int32_t label(int64_t index) const;
  // The files the split was read from.
  const std::string& images_path() const { return images_path_; }
  const std::string& labels_path() const { return labels_path_; }

 private:
  std::string root_;
  std::string split_;
  std::string images_path_;
  std::string labels_path_;
  int64_t count_ = 0;
  int64_t rows_ = 0;
  int64_t cols_ = 0;
  std::vector<uint8_t> images_;  // the images file as read: 16-byte header, then the pixels
  std::vector<uint8_t> labels_;  // the labels file as read: 8-byte header, then the labels
  ByteTable table_{};            // normalized value of every byte
};

}  // namespace qf
