// Fake-quant ops against hand-computed cases (docs/quantization.md): rounding ties, saturation, the
// threshold guard near zero, the moving-average sequence, window eviction, per-channel axes, the
// straight-through gradient, the cross-rank sync hook. Every case runs on both CPU kernels; the
// kernels' agreement on every device: fake_quant_cases.cpp.
#include "quant/ops/fake_quant/fake_quant.h"

#include <gtest/gtest.h>

#include <cmath>

#include "nn/communicator.h"
#include "nn/context.h"
#include "tests/op_check.h"

namespace qf::test {
namespace {

const KernelKind kKinds[] = {KernelKind::cpu_ref, KernelKind::cpu};

std::vector<float> values(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

OpCase moving_average_case(std::vector<float> x, float scale, float state, float accum, Mode mode) {
  OpCase c;
  c.op = "fake_quantize_dequantize_moving_average_abs_max";
  c.inputs = {Tensor::from({static_cast<int64_t>(x.size())}, x), Tensor::from({1}, {scale}),
              Tensor::from({1}, {state}), Tensor::from({1}, {accum})};
  c.mode = mode;
  return c;
}

TEST(FakeQuant, RoundHalfAwayFromZero) {
  EXPECT_EQ(round_half_away(0.5f), 1.f);
  EXPECT_EQ(round_half_away(-0.5f), -1.f);
  EXPECT_EQ(round_half_away(1.5f), 2.f);
  EXPECT_EQ(round_half_away(2.5f), 3.f);  // half-to-even would give 2
  EXPECT_EQ(round_half_away(-2.5f), -3.f);
  EXPECT_EQ(round_half_away(0.49999997f), 0.f);  // naive floor(x + 0.5) gives 1
  EXPECT_EQ(round_half_away(-126.5f), -127.f);
  EXPECT_EQ(inverse_threshold(2.f), 0.5f);
  EXPECT_FLOAT_EQ(inverse_threshold(1e-31f), 1.f / (1e-31f + 1e-6f));  // the guard
  EXPECT_EQ(quant_bin_count(8), 127);
  EXPECT_EQ(quant_bin_count(2), 1);
  EXPECT_EQ(quant_bin_count(16), 32767);
}

TEST(FakeQuant, TiesRoundAwayFromZeroAndSaturateAtThreshold) {
  // Stored scale 254 (evaluation): k = 127 * (1/254) = 0.5 exactly, so x = 1, 3, 5 are ties;
  // out = q * 254 / 127 = 2q. Values beyond +-T clip to +-127, never -128.
  for (KernelKind kind : kKinds) {
    OpCase c = moving_average_case({1, 3, 5, -5, -1, 0.9f, 300, -1000}, 254, 1, 1, Mode::eval);
    const OpRun r = run_op(c, kind);
    EXPECT_EQ(values(r.outputs[0]), (std::vector<float>{2, 4, 6, -6, -2, 0, 254, -254}))
        << kernel_kind_name(kind);
    EXPECT_EQ(values(r.state_after[1]), std::vector<float>{254});  // eval leaves state alone
    EXPECT_EQ(values(r.state_after[3]), std::vector<float>{1});
  }
}

TEST(FakeQuant, AbsMaxUsesThisTensorsMaxWithTwoBits) {
  // bits 2: bnt = 1, T = max|x| = 2, k = 0.5: x = 1 is a tie (-> 1, out 2), 0.9 -> 0.
  for (KernelKind kind : kKinds) {
    OpCase c;
    c.op = "fake_quantize_dequantize_abs_max";
    c.attrs = {{"bits", int64_t{2}}};
    c.inputs = {Tensor::from({5}, {1, -1, 0.9f, -2, 0.2f}), Tensor::from({1}, {0.f})};
    const OpRun r = run_op(c, kind);
    EXPECT_EQ(values(r.outputs[0]), (std::vector<float>{2, -2, 0, -2, 0}));
    EXPECT_EQ(values(r.state_after[1]), std::vector<float>{2});
    c.mode = Mode::eval;  // recomputed in evaluation too, but not stored
    c.inputs[0] = Tensor::from({2}, {0.5f, -4});
    const OpRun e = run_op(c, kind);
    EXPECT_EQ(values(e.outputs[0]), (std::vector<float>{0, -4}));
    EXPECT_EQ(values(e.state_after[1]), std::vector<float>{0});
  }
}

TEST(FakeQuant, ThresholdGuardNearZero) {
  for (KernelKind kind : kKinds) {
    OpCase c;
    c.op = "fake_quantize_dequantize_abs_max";
    // T = 1e-31 <= 1e-30: inv = 1/(T + 1e-6) ~ 1e6, so even x = T quantizes to 0.
    c.inputs = {Tensor::from({3}, {1e-31f, -5e-32f, 0}), Tensor::from({1}, {0.f})};
    EXPECT_EQ(values(run_op(c, kind).outputs[0]), (std::vector<float>{0, 0, 0}));
    // An all-zero tensor: T = 0, output zeros (no NaN).
    c.inputs = {Tensor::from({2}, {0, 0}), Tensor::from({1}, {1.f})};
    const OpRun z = run_op(c, kind);
    EXPECT_EQ(values(z.outputs[0]), (std::vector<float>{0, 0}));
    EXPECT_EQ(values(z.state_after[1]), std::vector<float>{0});
    // T = 2e-30 > 1e-30: the plain reciprocal; x = T maps to q = 127 and back to T.
    c.inputs = {Tensor::from({2}, {2e-30f, 0}), Tensor::from({1}, {0.f})};
    EXPECT_NEAR(run_op(c, kind).outputs[0].data<float>()[0], 2e-30f, 1e-36f);
  }
}

TEST(FakeQuant, MovingAverageSequence) {
  // r = 0.9 from scale 0.001, state 1, accum 1 with batch maxima 2, 4, 1:
  //   T1 = (0.9 + 2) / 1.9,  T2 = (0.9*2.9 + 4) / (0.9*1.9 + 1),  T3 = (0.9*6.61 + 1) / 3.439
  const double expect[3][3] = {
      {1.9, 2.9, 2.9 / 1.9}, {2.71, 6.61, 6.61 / 2.71}, {3.439, 6.949, 6.949 / 3.439}};
  const float maxima[3] = {2, 4, 1};
  for (KernelKind kind : kKinds) {
    float scale = 0.001f, state = 1, accum = 1;
    for (int t = 0; t < 3; ++t) {
      OpCase c = moving_average_case({maxima[t], -0.5f * maxima[t], 0.1f}, scale, state, accum,
                                     Mode::train);
      const OpRun r = run_op(c, kind);
      state = r.state_after[2].data<float>()[0];
      accum = r.state_after[3].data<float>()[0];
      scale = r.state_after[1].data<float>()[0];
      EXPECT_NEAR(state, expect[t][0], 1e-5) << "step " << t + 1;
      EXPECT_NEAR(accum, expect[t][1], 1e-5) << "step " << t + 1;
      EXPECT_NEAR(scale, expect[t][2], 1e-6) << "step " << t + 1;
      // The current batch is quantized with the new scale: x = m maps to round(127 min(m,T)/T).
      const double q = std::round(127.0 * std::min<double>(maxima[t], scale) / scale);
      EXPECT_NEAR(r.outputs[0].data<float>()[0], q * scale / 127, 1e-5) << "step " << t + 1;
    }
  }
}

TEST(FakeQuant, FrozenScalesBehaveLikeEvaluation) {
  for (KernelKind kind : kKinds) {
    OpCase c = moving_average_case({3, 1}, 254, 1, 1, Mode::train);
    c.attrs = {{"frozen", int64_t{1}}};
    const OpRun r = run_op(c, kind);
    EXPECT_EQ(values(r.outputs[0]), (std::vector<float>{4, 2}));
    EXPECT_EQ(values(r.state_after[1]), std::vector<float>{254});
    EXPECT_EQ(values(r.state_after[2]), std::vector<float>{1});
  }
}

TEST(FakeQuant, RangeAbsMaxWindowEviction) {
  // window 3, initial scale 0.001; iteration it = step + 1. Maxima 5, 3, 2, 1, 1, 1:
  // it 1..3 keep 5; it 4 evicts the 5 (slot 1) -> max(2, 1, 3) = 3; it 5 evicts the 3 -> 2;
  // it 6 evicts the 2 -> 1.
  const float maxima[6] = {5, 3, 2, 1, 1, 1};
  const float expect[6] = {5, 5, 5, 3, 2, 1};
  for (KernelKind kind : kKinds) {
    Tensor scale = Tensor::from({1}, {0.001f}), window = Tensor::zeros({3});
    for (int t = 0; t < 6; ++t) {
      OpCase c;
      c.op = "fake_quantize_dequantize_range_abs_max";
      c.attrs = {{"window_size", int64_t{3}}};
      c.inputs = {Tensor::from({2}, {maxima[t], -0.25f}), scale, window};
      c.step.step = t;
      const OpRun r = run_op(c, kind);
      scale = r.state_after[1];
      window = r.state_after[2];
      EXPECT_EQ(scale.data<float>()[0], expect[t]) << "iteration " << t + 1;
    }
    EXPECT_EQ(values(window), (std::vector<float>{1, 1, 1}));
  }
  // A window that has not wrapped yet never recomputes over unwritten slots.
  float w[4] = {0, 0, 0, 0};
  EXPECT_EQ(range_abs_max_update(w, 4, 1, 0.001f, 0.0005f), 0.001f);
}

TEST(FakeQuant, ChannelWiseAxes) {
  // Channel maxima 127 (k = 1) and 254 (k = 0.5): ties 2.5 -> 3 and 5*0.5 -> 3, -0.5 -> -1.
  const std::vector<float> ch0{127, 2.5f, -0.5f}, ch1{254, 5, -1};
  for (KernelKind kind : kKinds) {
    OpCase c;
    c.op = "fake_channel_wise_quantize_dequantize_abs_max";
    c.attrs = {{"quant_axis", int64_t{0}}};  // (2, 3): rows are channels (our conv and linear)
    std::vector<float> rows = ch0;
    rows.insert(rows.end(), ch1.begin(), ch1.end());
    c.inputs = {Tensor::from({2, 3}, rows), Tensor::zeros({2})};
    OpRun r = run_op(c, kind);
    EXPECT_EQ(values(r.outputs[0]), (std::vector<float>{127, 3, -1, 254, 6, -2}));
    EXPECT_EQ(values(r.state_after[1]), (std::vector<float>{127, 254}));
    c.attrs = {{"quant_axis", int64_t{1}}};  // (3, 2): columns are channels (Paddle's mul)
    c.inputs = {Tensor::from({3, 2}, {127, 254, 2.5f, 5, -0.5f, -1}), Tensor::zeros({2})};
    r = run_op(c, kind);
    EXPECT_EQ(values(r.outputs[0]), (std::vector<float>{127, 254, 3, 6, -1, -2}));
    EXPECT_EQ(values(r.state_after[1]), (std::vector<float>{127, 254}));
    // A conv weight (O, I, kh, kw) = (2, 1, 1, 3) on axis 0.
    c.attrs = {{"quant_axis", int64_t{0}}};
    c.inputs = {Tensor::from({2, 1, 1, 3}, rows), Tensor::zeros({2})};
    EXPECT_EQ(values(run_op(c, kind).outputs[0]), (std::vector<float>{127, 3, -1, 254, 6, -2}));
  }
}

TEST(FakeQuant, StraightThroughGradientIsIdentityEverywhere) {
  // dx = dy exactly, also for values far outside [-T, T] (no clipping) — tested as a formula,
  // since finite differences across rounding steps mean nothing.
  const std::vector<std::string> ops = {
      "fake_quantize_dequantize_moving_average_abs_max", "fake_quantize_dequantize_abs_max",
      "fake_channel_wise_quantize_dequantize_abs_max", "fake_quantize_dequantize_range_abs_max",
      "moving_average_abs_max_scale"};
  for (const std::string& op : ops)
    for (KernelKind kind : kKinds) {
      OpCase c;
      c.op = op;
      const Tensor x = random_tensor({4, 5}, 3, -50, 50, DType::f32);
      c.inputs = {x, Tensor::from({1}, {0.5f})};
      if (op == "fake_channel_wise_quantize_dequantize_abs_max") c.inputs[1] = Tensor::zeros({4});
      if (op == "fake_quantize_dequantize_range_abs_max") {
        c.attrs = {{"window_size", int64_t{2}}};
        c.inputs.push_back(Tensor::zeros({2}));
      }
      if (op.find("moving_average") != std::string::npos) {
        c.inputs.push_back(Tensor::from({1}, {1.f}));
        c.inputs.push_back(Tensor::from({1}, {1.f}));
      }
      const Tensor dy = random_tensor({4, 5}, 4, -1, 1, DType::f32);
      const OpRun r = run_op(c, kind, {dy});
      ASSERT_TRUE(r.grads[0].defined());
      EXPECT_EQ(values(r.grads[0]), values(dy)) << op << " " << kernel_kind_name(kind);
      for (size_t i = 1; i < r.grads.size(); ++i) EXPECT_FALSE(r.grads[i].defined()) << op;
    }
}

TEST(FakeQuant, ObserverPassesValuesThroughAndRecordsTheRange) {
  for (KernelKind kind : kKinds) {
    OpCase c;
    c.op = "moving_average_abs_max_scale";
    c.inputs = {Tensor::from({3}, {0.3f, -2, 1.234567f}), Tensor::from({1}, {1.f}),
                Tensor::from({1}, {1.f}), Tensor::from({1}, {1.f})};
    const OpRun r = run_op(c, kind);
    EXPECT_EQ(values(r.outputs[0]), (std::vector<float>{0.3f, -2, 1.234567f}));
    EXPECT_NEAR(r.state_after[1].data<float>()[0], 2.9 / 1.9, 1e-6);
  }
}

// With quantize = 1 (what quant_aware inserts) the observer quantizes with the scale it just
// updated: T = 2.9 / 1.9, step T / 127; 0.3 -> round(24.96) = 25, -2 -> clipped to -127, 1.234567
// -> round(102.75) = 103. In evaluation it uses the stored scale, here 4.
TEST(FakeQuant, QuantizingObserverQuantizesWithItsScale) {
  const double t = 2.9 / 1.9;
  for (KernelKind kind : kKinds) {
    OpCase c;
    c.op = "moving_average_abs_max_scale";
    c.attrs = {{"quantize", int64_t{1}}};
    c.inputs = {Tensor::from({3}, {0.3f, -2, 1.234567f}), Tensor::from({1}, {1.f}),
                Tensor::from({1}, {1.f}), Tensor::from({1}, {1.f})};
    const OpRun r = run_op(c, kind);
    const std::vector<float> out = values(r.outputs[0]);
    EXPECT_NEAR(out[0], 25 * t / 127, 1e-6) << kernel_kind_name(kind);
    EXPECT_NEAR(out[1], -t, 1e-6);
    EXPECT_NEAR(out[2], 103 * t / 127, 1e-6);
    c.mode = Mode::eval;
    c.inputs[1] = Tensor::from({1}, {4.f});
    // -2 / (4 / 127) = -63.5, a tie: rounds away from zero to -64.
    EXPECT_NEAR(values(run_op(c, kind).outputs[0])[1], -64 * 4.0 / 127, 1e-6);
  }
}

TEST(FakeQuant, RejectsBadAttributesAndShapes) {
  OpCase c = moving_average_case({1}, 1, 1, 1, Mode::train);
  c.attrs = {{"bits", int64_t{17}}};
  EXPECT_THROW(run_op(c, KernelKind::cpu), InputError);
  c.attrs = {{"bits", int64_t{0}}};
  EXPECT_THROW(run_op(c, KernelKind::cpu), InputError);
  c.attrs = {{"moving_rate", 1.0}};
  EXPECT_THROW(run_op(c, KernelKind::cpu), InputError);
  OpCase cw;
  cw.op = "fake_channel_wise_quantize_dequantize_abs_max";
  cw.attrs = {{"quant_axis", int64_t{2}}};
  cw.inputs = {Tensor::zeros({2, 3, 4}), Tensor::zeros({4})};
  EXPECT_THROW(run_op(cw, KernelKind::cpu), InputError);
  cw.attrs = {};
  cw.inputs = {Tensor::zeros({2, 3}), Tensor::zeros({3})};  // axis 0 has 2 channels
  EXPECT_THROW(run_op(cw, KernelKind::cpu), InputError);
}

// Records collectives; pretends another rank saw a batch max of 10.
class RecordingCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string backend() const override { return "recording"; }
  void all_reduce_sum(const Tensor&) override { ++sums; }
  void all_reduce_max(const Tensor& t) override {
    ++maxes;
    sizes.push_back(t.numel());
    t.data<float>()[0] = std::max(t.data<float>()[0], 10.f);
  }
  void broadcast(const Tensor&, int) override {}
  void barrier() override {}
  void all_reduce_sum_host(double*, size_t) override {}
  void all_reduce_max_host(double*, size_t) override {}
  [[noreturn]] void abort(int) override { std::abort(); }
  int maxes = 0, sums = 0;
  std::vector<int64_t> sizes;
};

// Runs one forward of `op` with a communicator; returns the state inputs afterwards.
std::vector<Tensor> forward_with_comm(const std::string& op, Attrs attrs, Mode mode,
                                      Communicator* comm, KernelKind kind) {
  CpuContext ctx(1, kind == KernelKind::cpu_ref);
  Node n;
  n.op = op;
  n.name = "q";
  n.attrs = std::move(attrs);
  std::vector<Tensor> in = {Tensor::from({2}, {2, -1}), Tensor::from({1}, {0.001f})};
  if (op == "fake_quantize_dequantize_range_abs_max")
    in.push_back(Tensor::zeros({10000}));
  else {
    in.push_back(Tensor::from({1}, {1.f}));
    in.push_back(Tensor::from({1}, {1.f}));
  }
  std::vector<TensorDesc> d;
  for (size_t i = 0; i < in.size(); ++i) {
    n.inputs.push_back(static_cast<int>(i));
    d.push_back({in[i].shape(), in[i].dtype()});
  }
  n.outputs = {9};
  const std::vector<TensorDesc> od = infer_node(n, d);
  const OpDef& def = op_registry().get(op);
  auto k = def.kernels[static_cast<int>(kind)](KernelSetup{n, d, od, ctx, true, comm});
  Tensor out = Tensor::zeros({2});
  std::vector<const Tensor*> ip, opp{&out};
  for (auto& t : in) ip.push_back(&t);
  k->forward(ForwardCall{ip, opp, mode, {}, nullptr});
  return in;
}

TEST(FakeQuant, BatchMaxIsAllReducedBeforeTheScaleUpdate) {
  for (KernelKind kind : kKinds) {
    RecordingCommunicator comm;
    auto st = forward_with_comm("fake_quantize_dequantize_moving_average_abs_max", {}, Mode::train,
                                &comm, kind);
    EXPECT_EQ(comm.maxes, 1);
    EXPECT_EQ(comm.sizes, std::vector<int64_t>{1});
    EXPECT_NEAR(st[3].data<float>()[0], 0.9 + 10, 1e-5);  // accum used the reduced max
    st = forward_with_comm("fake_quantize_dequantize_range_abs_max", {}, Mode::train, &comm, kind);
    EXPECT_EQ(comm.maxes, 2);
    EXPECT_EQ(st[1].data<float>()[0], 10.f);
    forward_with_comm("moving_average_abs_max_scale", {}, Mode::train, &comm, kind);
    EXPECT_EQ(comm.maxes, 3);
    // No collective in evaluation, when frozen, or when the node opts out.
    forward_with_comm("fake_quantize_dequantize_moving_average_abs_max", {}, Mode::eval, &comm,
                      kind);
    forward_with_comm("fake_quantize_dequantize_moving_average_abs_max", {{"frozen", int64_t{1}}},
                      Mode::train, &comm, kind);
    st = forward_with_comm("fake_quantize_dequantize_moving_average_abs_max",
                           {{"sync_scales", int64_t{0}}}, Mode::train, &comm, kind);
    EXPECT_EQ(comm.maxes, 3);
    EXPECT_NEAR(st[3].data<float>()[0], 0.9 + 2, 1e-6);
    // One process: no communicator, no call, local max.
    st = forward_with_comm("fake_quantize_dequantize_moving_average_abs_max", {}, Mode::train,
                           nullptr, kind);
    EXPECT_NEAR(st[3].data<float>()[0], 0.9 + 2, 1e-6);
  }
}

}  // namespace
}  // namespace qf::test
