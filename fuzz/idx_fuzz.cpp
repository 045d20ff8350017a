// Fuzz target: an MNIST folder (data/mnist.h) as `--data.root DIR` reads it. The input is split in
// two: byte 0 chooses plain or gzip file names (bit 0) and bytes 1-2 the length of the images file;
// the rest is the labels file.
#include <unistd.h>

#include <filesystem>

#include "data/mnist.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  static const std::string root = [] {
    const std::string r = qf::fuzz::scratch_dir() + "/mnist";
    std::filesystem::create_directories(r);
    return r;
  }();
  const bool gz = data[0] & 1;
  const size_t images = std::min<size_t>(size - 3, size_t{data[1]} | size_t{data[2]} << 8);
  for (const char* name : {"/train-images-idx3-ubyte", "/train-labels-idx1-ubyte"})
    ::unlink((root + name + (gz ? "" : ".gz")).c_str());  // the reader prefers the plain name
  const std::string ext = gz ? ".gz" : "";
  qf::fuzz::write_file(root + "/train-images-idx3-ubyte" + ext, data + 3, images);
  qf::fuzz::write_file(root + "/train-labels-idx1-ubyte" + ext, data + 3 + images,
                       size - 3 - images);
  qf::fuzz::expect_success_or_input_error([&] {
    qf::MnistDataset d(root, "train");
    std::vector<float> sample(static_cast<size_t>(qf::numel(d.sample_shape())));
    qf::SampleRng rng(1);
    for (int64_t i : {int64_t{0}, d.size() - 1}) d.get(i, sample.data(), rng);
  });
  return 0;
}
