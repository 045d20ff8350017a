// GradSync: buckets tile the gradient arena, start in bucket order while backward is still
// running, and after finish() the arena holds the sum the communicator produced.
#include "comm/grad_sync.h"

#include <gtest/gtest.h>

#include <cstring>

#include "models/builder.h"
#include "models/registry.h"

namespace qf {
namespace {

// Plays rank 0 of two identical ranks: a sum doubles the values. Records every asynchronous
// start and whether backward was still running then.
class RecordingComm final : public Communicator {
 public:
  struct Start {
    const void* data;
    size_t bytes;
    bool during_backward;
  };
  explicit RecordingComm(const bool* in_backward) : in_backward_(in_backward) {}
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string backend() const override { return "recording"; }
  void all_reduce_sum(const Tensor& t) override { double_it(t); }
  void all_reduce_max(const Tensor&) override {}
  void broadcast(const Tensor&, int) override {}
  void barrier() override {}
  void all_reduce_sum_host(double* d, size_t n) override {
    for (size_t i = 0; i < n; ++i) d[i] *= 2;
  }
  void all_reduce_max_host(double*, size_t) override {}
  void all_reduce_sum_async(const Tensor& t) override {
    starts.push_back({t.raw(), t.nbytes(), *in_backward_});
    double_it(t);
  }
  void wait_async() override { ++waits; }
  [[noreturn]] void abort(int code) override { std::exit(code); }

  std::vector<Start> starts;
  int waits = 0;

 private:
  static void double_it(const Tensor& t) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] *= 2;
  }
  const bool* in_backward_;
};

Graph small_graph() {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 1, 8, 8});
  x = b.relu("relu1", b.batch_norm("bn1", b.conv2d("conv1", x, 1, 6, 3, 1, 1), 6));
  x = b.relu("relu2", b.batch_norm("bn2", b.conv2d("conv2", x, 6, 8, 3, 2, 1), 8));
  x = b.flatten("flatten", b.global_avg_pool("pool", x));
  x = b.linear("fc", x, 8, 3);
  g.mark_output(x);
  add_classification_loss(g, x, 0.0);
  return g;
}

void feed(Executor& ex) {
  Tensor img = Tensor::empty({4, 1, 8, 8}, DType::f32);
  for (int64_t i = 0; i < img.numel(); ++i)
    img.data<float>()[i] = static_cast<float>((i * 37 % 19) / 19.0 - 0.4);
  Tensor label = Tensor::empty({4}, DType::i32);
  for (int i = 0; i < 4; ++i) label.data<int32_t>()[i] = i % 3;
  ex.set_input("image", img);
  ex.set_input("label", label);
}

TEST(GradSync, BucketsTileTheArenaFromTheLastParameter) {
  Graph g = small_graph();
  CpuContext ctx(1);
  ParamStore store(g, ctx, 1);
  bool in_backward = false;
  RecordingComm comm(&in_backward);
  for (double mb : {1e-9, 0.0004, 100.0}) {
    GradSync sync(store, comm, mb);
    const auto& buckets = sync.buckets();
    ASSERT_FALSE(buckets.empty());
    EXPECT_EQ(buckets.front().last_param, store.params().size() - 1);
    EXPECT_EQ(buckets.back().first_param, 0u);
    size_t end = store.grad_arena().nbytes();
    for (const auto& b : buckets) {  // descending, contiguous, covering everything
      EXPECT_EQ(b.offset + b.bytes, end);
      EXPECT_EQ(b.offset, store.params()[b.first_param].offset);
      end = b.offset;
    }
    EXPECT_EQ(end, 0u);
    if (mb < 1e-6) EXPECT_EQ(buckets.size(), store.params().size());
    if (mb > 1) EXPECT_EQ(buckets.size(), 1u);
    if (mb == 0.0004) {  // ~420 bytes: several parameters per bucket, fewer buckets
      EXPECT_GT(buckets.size(), 1u);
      EXPECT_LT(buckets.size(), store.params().size());
    }
  }
}

TEST(GradSync, StartsBucketsInOrderDuringBackwardAndSums) {
  Graph g = small_graph();
  CpuContext ctx(1);
  ParamStore store(g, ctx, 1);
  Executor ex(g, store, ctx);
  ex.prepare(4);
  feed(ex);
  // Plain gradients first.
  ex.forward(Mode::train);
  ex.backward();
  const Tensor plain = store.grad_arena().clone();

  bool in_backward = false;
  RecordingComm comm(&in_backward);
  GradSync sync(store, comm, 0.0004);
  sync.attach(ex);
  for (int step = 0; step < 2; ++step) {
    comm.starts.clear();
    ex.forward(Mode::train);
    in_backward = true;
    ex.backward();
    in_backward = false;
    sync.finish();
    ASSERT_EQ(comm.starts.size(), sync.buckets().size());
    for (size_t k = 0; k < comm.starts.size(); ++k) {
      const auto& b = sync.buckets()[k];
      EXPECT_EQ(comm.starts[k].data, static_cast<const char*>(store.grad_arena().raw()) + b.offset)
          << k;
      EXPECT_EQ(comm.starts[k].bytes, b.bytes);
      // Every parameter gets a gradient here, so every bucket starts inside backward.
      EXPECT_TRUE(comm.starts[k].during_backward) << "bucket " << k;
    }
    EXPECT_EQ(comm.waits, step + 1);
    const float* a = store.grad_arena().data<float>();
    const float* p = plain.data<float>();
    for (int64_t i = 0; i < plain.numel(); ++i) ASSERT_EQ(a[i], 2 * p[i]) << i;
  }
  EXPECT_EQ(sync.steps(), 2);
}

TEST(GradSync, FinishStartsBucketsWhoseGradientsNeverCame) {
  Graph g = small_graph();
  CpuContext ctx(1);
  ParamStore store(g, ctx, 1);
  bool in_backward = false;
  RecordingComm comm(&in_backward);
  GradSync sync(store, comm, 1e-9);
  // No backward at all: finish alone starts every bucket, in order.
  sync.finish();
  ASSERT_EQ(comm.starts.size(), sync.buckets().size());
  for (size_t k = 0; k < comm.starts.size(); ++k) EXPECT_FALSE(comm.starts[k].during_backward);
  // A parameter reported twice in one step is an internal error.
  sync.on_grad_ready(0);
  EXPECT_THROW(sync.on_grad_ready(0), InternalError);
}

}  // namespace
}  // namespace qf
