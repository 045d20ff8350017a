// The communicator's collectives on N ranks: sums and maxima in f32 and f64, broadcasts of any
// dtype, host reductions, and asynchronous sums interleaved with blocking collectives.
#include <gtest/gtest.h>

#include "tests/dist_mpi/mpi_test_util.h"

namespace qf::test {
namespace {

TEST(MpiComm, SumAndMaxInFloatAndDouble) {
  Communicator& c = world();
  const int W = c.size(), r = c.rank();
  Tensor f = Tensor::empty({1000}, DType::f32);
  Tensor d = Tensor::empty({7}, DType::f64);
  Tensor m = Tensor::empty({9}, DType::f32);
  for (int i = 0; i < 1000; ++i) f.data<float>()[i] = static_cast<float>(r + 0.5 * i);
  for (int i = 0; i < 7; ++i) d.data<double>()[i] = (r + 1) * 1e-3 * (i + 1);
  for (int i = 0; i < 9; ++i) m.data<float>()[i] = i % W == r ? 100.f + i : -1.f * i;
  c.all_reduce_sum(f);
  c.all_reduce_sum(d);
  c.all_reduce_max(m);
  const double ranks = W * (W - 1) / 2.0;  // sum of r
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(f.data<float>()[i], static_cast<float>(ranks + 0.5 * i * W));
  for (int i = 0; i < 7; ++i)
    EXPECT_NEAR(d.data<double>()[i], W * (W + 1) / 2.0 * 1e-3 * (i + 1), 1e-15);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(m.data<float>()[i], 100.f + i);
  double host[2] = {1.0 * r, -1.0 * r};
  c.all_reduce_sum_host(host, 1);
  c.all_reduce_max_host(host + 1, 1);
  EXPECT_EQ(host[0], ranks);
  EXPECT_EQ(host[1], 0.0);
  c.barrier();
}

TEST(MpiComm, BroadcastAnyDtype) {
  Communicator& c = world();
  const int root = c.size() - 1;
  Tensor a = Tensor::empty({5}, DType::i64);
  Tensor b = Tensor::empty({3, 3}, DType::u8);
  for (int i = 0; i < 5; ++i) a.data<int64_t>()[i] = (int64_t{1} << 40) * c.rank() + i;
  for (int i = 0; i < 9; ++i) b.data<uint8_t>()[i] = static_cast<uint8_t>(c.rank() * 10 + i);
  c.broadcast(a, root);
  c.broadcast(b, root);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.data<int64_t>()[i], (int64_t{1} << 40) * root + i);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(b.data<uint8_t>()[i], root * 10 + i);
}

TEST(MpiComm, AsyncSumsInterleaveWithBlockingCollectives) {
  Communicator& c = world();
  const int W = c.size();
  const AsyncCommStats before = c.async_stats();
  std::vector<Tensor> buckets;
  for (int64_t n : {1, 100, 100000, 3, 2000000}) {
    Tensor t = Tensor::empty({n}, DType::f32);
    t.fill(static_cast<float>(c.rank() + 1));
    buckets.push_back(t);
  }
  Tensor mx = Tensor::empty({1}, DType::f32);
  for (size_t k = 0; k < buckets.size(); ++k) {
    c.all_reduce_sum_async(buckets[k]);
    mx.data<float>()[0] = static_cast<float>(c.rank() * 10 + k);  // a blocking one between
    c.all_reduce_max(mx);
    EXPECT_EQ(mx.data<float>()[0], static_cast<float>((W - 1) * 10 + k));
  }
  c.wait_async();
  const float want = W * (W + 1) / 2.f;
  for (const Tensor& t : buckets) {
    const float* p = t.data<float>();
    bool ok = true;
    for (int64_t i = 0; i < t.numel(); ++i) ok = ok && p[i] == want;
    EXPECT_TRUE(ok) << t.numel();
  }
  const AsyncCommStats after = c.async_stats();
  if (W > 1) {
    EXPECT_EQ(after.reductions - before.reductions, 5);
    EXPECT_EQ(after.bytes - before.bytes, 4 * (1 + 100 + 100000 + 3 + 2000000));
    EXPECT_GT(after.busy_seconds, before.busy_seconds);
  }
  c.wait_async();  // nothing in flight: returns at once
}

}  // namespace
}  // namespace qf::test
