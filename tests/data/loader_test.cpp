// DataLoader: batches equal a sequential reference for every worker count and prefetch depth,
// drop_last, skip_batches, restarts in the middle of an epoch, errors from workers surfacing in
// next(), held batches staying intact, option validation, and a pass over Fashion-MNIST.
#include "data/loader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <thread>

#include "data/mnist.h"
#include "tests/data/fake_dataset.h"
#include "tests/optional_deps.h"

namespace qf {
namespace {

using test::BatchCopy;
using test::FakeDataset;
using test::reference_batches;

BatchCopy copy_of(const Batch& b) {
  BatchCopy c;
  c.index = b.index;
  c.images.assign(b.images.data<float>(), b.images.data<float>() + b.images.numel());
  c.labels.assign(b.labels.data<int32_t>(), b.labels.data<int32_t>() + b.labels.numel());
  return c;
}

// Every remaining batch of the current epoch, checking each batch's tensor shapes.
std::vector<BatchCopy> drain(DataLoader& loader, const Shape& sample) {
  std::vector<BatchCopy> out;
  Batch b;
  while (loader.next(b)) {
    EXPECT_EQ(b.images.shape(), (Shape{b.size, sample[0], sample[1], sample[2]}));
    EXPECT_EQ(b.labels.shape(), (Shape{b.size}));
    EXPECT_EQ(b.images.dtype(), DType::f32);
    EXPECT_EQ(b.labels.dtype(), DType::i32);
    out.push_back(copy_of(b));
  }
  return out;
}

std::vector<BatchCopy> tail(std::vector<BatchCopy> v, size_t from) {
  return std::vector<BatchCopy>(v.begin() + static_cast<std::ptrdiff_t>(from), v.end());
}

LoaderOptions options(int64_t batch, int workers, int prefetch, bool drop_last, uint64_t seed = 3) {
  LoaderOptions o;
  o.batch_size = batch;
  o.workers = workers;
  o.prefetch = prefetch;
  o.drop_last = drop_last;
  o.seed = seed;
  return o;
}

TEST(DataLoader, MatchesSequentialReferenceForAnyWorkersAndPrefetch) {
  const int64_t n = 23;
  const FakeDataset data(n, -1, 50);
  const ShuffleSampler sampler(n, 11);
  for (bool drop_last : {true, false}) {
    const auto want0 = reference_batches(sampler, n, 0, 4, drop_last, 3);
    const auto want2 = reference_batches(sampler, n, 2, 4, drop_last, 3);
    ASSERT_EQ(want0.size(), drop_last ? 5u : 6u);
    ASSERT_NE(want0, want2);
    for (int workers : {0, 1, 3}) {
      for (int prefetch = 1; prefetch <= 4; ++prefetch) {
        SCOPED_TRACE(testing::Message() << "workers " << workers << " prefetch " << prefetch
                                        << " drop_last " << drop_last);
        DataLoader loader(data, sampler, options(4, workers, prefetch, drop_last));
        EXPECT_EQ(loader.batches_per_epoch(), static_cast<int64_t>(want0.size()));
        loader.start_epoch(0);
        EXPECT_EQ(drain(loader, data.sample_shape()), want0);
        Batch b;
        EXPECT_FALSE(loader.next(b));  // stays at the end
        loader.start_epoch(2);
        EXPECT_EQ(drain(loader, data.sample_shape()), want2);
      }
    }
  }
}

TEST(DataLoader, SeedChangesOnlyTheRandomValues) {
  const FakeDataset data(8);
  const SequentialSampler sampler(8);
  DataLoader a(data, sampler, options(4, 2, 2, true, 1));
  DataLoader b(data, sampler, options(4, 2, 2, true, 2));
  a.start_epoch(0);
  b.start_epoch(0);
  Batch ba, bb;
  ASSERT_TRUE(a.next(ba));
  ASSERT_TRUE(b.next(bb));
  EXPECT_EQ(ba.images.data<float>()[0], bb.images.data<float>()[0]);
  EXPECT_NE(ba.images.data<float>()[FakeDataset::kFloats - 1],
            bb.images.data<float>()[FakeDataset::kFloats - 1]);
}

TEST(DataLoader, DropLast) {
  const FakeDataset data(10);
  const SequentialSampler sampler(10);
  for (int workers : {0, 2}) {
    DataLoader dropping(data, sampler, options(4, workers, 2, true));
    EXPECT_EQ(dropping.batches_per_epoch(), 2);
    dropping.start_epoch(0);
    const auto kept = drain(dropping, data.sample_shape());
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_EQ(kept[1].labels, (std::vector<int32_t>{4, 5, 6, 7}));

    DataLoader keeping(data, sampler, options(4, workers, 2, false));
    EXPECT_EQ(keeping.batches_per_epoch(), 3);
    keeping.start_epoch(0);
    Batch b;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(keeping.next(b));
    EXPECT_EQ(b.size, 2);
    EXPECT_EQ(b.index, 2);
    EXPECT_EQ(b.images.shape(), (Shape{2, 2, 3, 2}));
    EXPECT_EQ(copy_of(b).labels, (std::vector<int32_t>{8, 9}));
    EXPECT_EQ(b.images.data<float>()[FakeDataset::kFloats], 900.f);  // sample 9, value 0
    EXPECT_FALSE(keeping.next(b));
  }
  const FakeDataset eight(8);
  const SequentialSampler eight_sampler(8);
  DataLoader exact(eight, eight_sampler, options(4, 1, 1, false));
  EXPECT_EQ(exact.batches_per_epoch(), 2);
}

TEST(DataLoader, SkipBatchesResumesMidEpoch) {
  const int64_t n = 30;
  const FakeDataset data(n);
  const ShuffleSampler sampler(n, 5);
  const auto want = reference_batches(sampler, n, 4, 4, false, 3);  // 8 batches
  for (int workers : {0, 1, 3}) {
    SCOPED_TRACE(testing::Message() << "workers " << workers);
    DataLoader loader(data, sampler, options(4, workers, 2, false));
    for (size_t skip : {size_t{0}, size_t{1}, size_t{3}, size_t{7}, size_t{8}}) {
      loader.start_epoch(4, static_cast<int64_t>(skip));
      EXPECT_EQ(drain(loader, data.sample_shape()), tail(want, skip)) << "skip " << skip;
    }
    EXPECT_THROW(loader.start_epoch(4, 9), InputError);
    EXPECT_THROW(loader.start_epoch(4, -1), InputError);
  }
}

TEST(DataLoader, RestartInTheMiddleOfAnEpoch) {
  const int64_t n = 41;
  const FakeDataset data(n, -1, 200);  // slow enough that workers are busy at each restart
  const ShuffleSampler sampler(n, 9);
  const auto want1 = reference_batches(sampler, n, 1, 5, true, 3);
  const auto want6 = reference_batches(sampler, n, 6, 5, true, 3);
  for (int workers : {0, 1, 3}) {
    for (int prefetch : {1, 3}) {
      SCOPED_TRACE(testing::Message() << "workers " << workers << " prefetch " << prefetch);
      DataLoader loader(data, sampler, options(5, workers, prefetch, true));
      loader.start_epoch(1);
      Batch b;
      ASSERT_TRUE(loader.next(b));
      ASSERT_TRUE(loader.next(b));
      EXPECT_EQ(copy_of(b), want1[1]);
      loader.start_epoch(6);  // abandon epoch 1 with batches in flight
      EXPECT_EQ(drain(loader, data.sample_shape()), want6);
      for (int i = 0; i < 5; ++i) loader.start_epoch(1, i % 3);  // restarts without consuming
      loader.start_epoch(1, 2);
      ASSERT_TRUE(loader.next(b));
      EXPECT_EQ(copy_of(b), want1[2]);
      loader.start_epoch(6, 5);
      EXPECT_EQ(drain(loader, data.sample_shape()), tail(want6, 5));
    }
  }
}

TEST(DataLoader, HeldBatchIsNotOverwritten) {
  const int64_t n = 40;
  const FakeDataset data(n);
  const SequentialSampler sampler(n);
  const auto want = reference_batches(sampler, n, 0, 4, true, 3);
  DataLoader loader(data, sampler, options(4, 3, 1, true));
  loader.start_epoch(0);
  Batch b;
  for (const BatchCopy& expected : want) {
    ASSERT_TRUE(loader.next(b));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // workers run ahead meanwhile
    EXPECT_EQ(copy_of(b), expected);
  }
}

TEST(DataLoader, WorkerErrorSurfacesInNext) {
  const int64_t n = 40;
  const FakeDataset data(n, /*fail_index=*/13, 100);  // sample 13 sits in batch 3
  const SequentialSampler sampler(n);
  for (int workers : {0, 1, 3}) {
    for (int prefetch : {1, 4}) {
      SCOPED_TRACE(testing::Message() << "workers " << workers << " prefetch " << prefetch);
      DataLoader loader(data, sampler, options(4, workers, prefetch, true));
      for (int attempt = 0; attempt < 2; ++attempt) {
        loader.start_epoch(0);
        Batch b;
        for (int i = 0; i < 3; ++i) {
          ASSERT_TRUE(loader.next(b));
          EXPECT_EQ(b.index, i);
        }
        try {
          loader.next(b);
          ADD_FAILURE() << "next() did not rethrow the worker's error";
        } catch (const InputError& e) {
          EXPECT_NE(std::string(e.what()).find("sample 13 is corrupt"), std::string::npos)
              << e.what();
        }
        EXPECT_FALSE(loader.next(b));  // the epoch ended with the error
      }
      loader.start_epoch(0, 4);  // past the bad batch
      EXPECT_EQ(drain(loader, data.sample_shape()).size(), 6u);
    }
  }
}

TEST(DataLoader, DestructionNeverHangs) {
  const FakeDataset data(100, -1, 500);
  const SequentialSampler sampler(100);
  { DataLoader never_started(data, sampler, options(4, 3, 2, true)); }
  {
    DataLoader busy(data, sampler, options(4, 3, 2, true));
    busy.start_epoch(0);  // workers mid-build and blocked on a full ring
  }
  {
    DataLoader holding(data, sampler, options(4, 2, 1, true));
    holding.start_epoch(0);
    Batch b;
    ASSERT_TRUE(holding.next(b));
  }
  {
    const FakeDataset failing(100, 1);
    DataLoader failed(failing, sampler, options(4, 2, 2, true));
    failed.start_epoch(0);
  }
  SUCCEED();
}

TEST(DataLoader, ValidatesOptions) {
  const FakeDataset data(8);
  const SequentialSampler sampler(8);
  auto message = [&](LoaderOptions o) -> std::string {
    try {
      DataLoader loader(data, sampler, o);
    } catch (const InputError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message(options(0, 1, 1, true)).find("batch_size 0"), std::string::npos);
  EXPECT_NE(message(options(4, -1, 1, true)).find("workers -1"), std::string::npos);
  EXPECT_NE(message(options(4, 1, 0, true)).find("prefetch 0"), std::string::npos);
  DataLoader loader(data, sampler, options(4, 1, 1, true));
  Batch b;
  EXPECT_THROW(loader.next(b), InternalError);  // before start_epoch
}

TEST(DataLoader, BatchSizeLargerThanDataset) {
  const FakeDataset data(3);
  const SequentialSampler sampler(3);
  DataLoader dropping(data, sampler, options(8, 2, 2, true));
  EXPECT_EQ(dropping.batches_per_epoch(), 0);
  dropping.start_epoch(0);
  Batch b;
  EXPECT_FALSE(dropping.next(b));
  DataLoader keeping(data, sampler, options(8, 2, 2, false));
  keeping.start_epoch(0);
  ASSERT_TRUE(keeping.next(b));
  EXPECT_EQ(b.size, 3);
  EXPECT_FALSE(keeping.next(b));
}

TEST(DataLoader, FashionMnistTestSet) {
  const std::string root = MnistDataset::default_root();
  QF_SKIP_UNLESS(std::filesystem::exists(root),
                 root << " is missing: apt-get install dataset-fashion-mnist to run this test");
  const MnistDataset data(root, "test");
  const ShuffleSampler sampler(data.size(), 1);
  DataLoader loader(data, sampler, options(256, 2, 4, false));
  EXPECT_EQ(loader.batches_per_epoch(), 40);  // 39 full batches and one of 16
  loader.start_epoch(0);
  const std::vector<int64_t> order = sampler.epoch_indices(0);
  Batch b;
  int64_t seen = 0;
  std::vector<float> sample(28 * 28);
  SampleRng rng;
  while (loader.next(b)) {
    for (int64_t i = 0; i < b.size; ++i) {
      const int64_t index = order[static_cast<size_t>(seen + i)];
      ASSERT_EQ(b.labels.data<int32_t>()[i], data.label(index));
      data.get(index, sample.data(), rng);
      ASSERT_EQ(0, std::memcmp(sample.data(), b.images.data<float>() + i * 28 * 28,
                               sample.size() * sizeof(float)));
    }
    seen += b.size;
  }
  EXPECT_EQ(seen, 10000);
  EXPECT_EQ(b.size, 16);
}

}  // namespace
}  // namespace qf
