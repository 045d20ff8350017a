// A synthetic Dataset for loader tests: sample i holds values that identify it (i * 100 + k),
// one value drawn from the per-sample generator (so seeding is checked too), and label i % 10.
// It can sleep on some samples (to vary the interleaving of workers) and throw on one.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/sampler.h"
#include "nn/error.h"

namespace qf::test {

class FakeDataset final : public Dataset {
 public:
  // (C, H, W) = (2, 3, 2): 12 floats per sample.
  explicit FakeDataset(int64_t n, int64_t fail_index = -1, int sleep_us = 0)
      : n_(n), fail_index_(fail_index), sleep_us_(sleep_us) {}

  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return {2, 3, 2}; }
  int num_classes() const override { return 10; }
  std::string describe() const override { return "fake dataset"; }

  int32_t get(int64_t index, float* out, SampleRng& rng) const override {
    if (index == fail_index_) throw_input_error("fake dataset: sample ", index, " is corrupt");
    if (sleep_us_ > 0 && index % 3 == 0)
      std::this_thread::sleep_for(std::chrono::microseconds(sleep_us_));
    write_sample(index, out, rng);
    return static_cast<int32_t>(index % 10);
  }

  static constexpr int64_t kFloats = 12;

  static void write_sample(int64_t index, float* out, SampleRng& rng) {
    for (int64_t k = 0; k + 1 < kFloats; ++k) out[k] = static_cast<float>(index * 100 + k);
    out[kFloats - 1] = static_cast<float>(rng() >> 40);  // 24 bits: exact in float
  }

 private:
  int64_t n_;
  int64_t fail_index_;
  int sleep_us_;
};

// What a batch held, copied out of the loader's buffers.
struct BatchCopy {
  int64_t index = 0;
  std::vector<float> images;
  std::vector<int32_t> labels;
  bool operator==(const BatchCopy&) const = default;
};

// The batches of `epoch` built one sample at a time on this thread: what any loader must deliver.
inline std::vector<BatchCopy> reference_batches(const Sampler& sampler, int64_t n, int64_t epoch,
                                                int64_t batch, bool drop_last, uint64_t seed) {
  const std::vector<int64_t> order = sampler.epoch_indices(epoch);
  QF_CHECK(static_cast<int64_t>(order.size()) == n, "sampler size");
  std::vector<BatchCopy> out;
  for (int64_t b = 0; b * batch < n; ++b) {
    const int64_t size = std::min(batch, n - b * batch);
    if (size < batch && drop_last) break;
    BatchCopy copy;
    copy.index = b;
    copy.images.resize(static_cast<size_t>(size * FakeDataset::kFloats));
    for (int64_t i = 0; i < size; ++i) {
      const int64_t index = order[static_cast<size_t>(b * batch + i)];
      SampleRng rng(sample_seed(seed, epoch, index));
      FakeDataset::write_sample(index, copy.images.data() + i * FakeDataset::kFloats, rng);
      copy.labels.push_back(static_cast<int32_t>(index % 10));
    }
    out.push_back(std::move(copy));
  }
  return out;
}

}  // namespace qf::test
