// Shared cases of the fake-quant ops (tests/op_cases.h), in training, evaluation and frozen mode:
// every state input after the forward is compared too. No gradient check: the straight-through
// gradient is not the derivative of a rounding (fake_quant_test.cpp tests it directly). The fast
// CPU kernels repeat the reference's arithmetic in the same order, so they match it exactly.
#include "quant/ops/fake_quant/fake_quant_cases.h"

#include "tests/op_cases.h"

namespace qf::test {
namespace {

const char* const kAbsMax = "fake_quantize_dequantize_abs_max";
const char* const kChannel = "fake_channel_wise_quantize_dequantize_abs_max";
const char* const kMovingAverage = "fake_quantize_dequantize_moving_average_abs_max";
const char* const kRange = "fake_quantize_dequantize_range_abs_max";
const char* const kObserver = "moving_average_abs_max_scale";

OpCase exact(OpCase c) {
  c.fast_tol = 0;
  return c;
}

// One tensor below the fast kernels' thread cutoff (2^17 elements: one serial pass) and one above
// it (one parallel region, a chunk per thread).
void add_thread_cutoff_cases(std::vector<NamedCase>& r) {
  for (const Shape& shape : {Shape{3, 7, 9, 64}, Shape{2, 16, 16, 320}}) {
    const std::string n = shape[0] == 3 ? "serial" : "parallel";
    const Tensor x = random_tensor(shape, 11, -3, 3, DType::f32);
    for (Mode mode : {Mode::train, Mode::eval}) {
      OpCase ma;
      ma.op = kMovingAverage;
      ma.inputs = {x, filled({1}, 0.25f), filled({1}, 1.f), filled({1}, 1.f)};
      ma.mode = mode;
      r.push_back({std::string("moving_average_") + n + (mode == Mode::eval ? "_eval" : ""),
                   exact(ma), kFast});
    }
    OpCase am;
    am.op = kAbsMax;
    am.attrs = {{"bits", int64_t{5}}};
    am.inputs = {x, Tensor::zeros({1})};
    r.push_back({"abs_max_5bit_" + n, exact(am), kFast});
    OpCase ra;
    ra.op = kRange;
    ra.attrs = {{"window_size", int64_t{4}}};
    ra.inputs = {x, filled({1}, 0.001f), Tensor::zeros({4})};
    r.push_back({"range_" + n, exact(ra), kFast});
  }
  OpCase cw;
  cw.op = kChannel;
  for (const Shape& shape : {Shape{64, 32, 3, 3}, Shape{256, 64, 3, 3}}) {
    cw.inputs = {random_tensor(shape, 12, -1, 1, DType::f32), Tensor::zeros({shape[0]})};
    r.push_back({"channel_wise_" + std::to_string(shape[0]), exact(cw), kFast});
  }
  cw.attrs = {{"quant_axis", int64_t{1}}};
  cw.inputs = {random_tensor({256, 96}, 13, -1, 1, DType::f32), Tensor::zeros({96})};
  r.push_back({"channel_wise_axis1_256x96", exact(cw), kFast});
}

// range_abs_max at step 3 with window 5 (slot 4): the batch max beats the scale; the evicted
// entry was the scale (the window's max is recomputed); neither (the scale stays); past the
// window (every entry counts); evaluation.
void add_window_cases(std::vector<NamedCase>& r) {
  OpCase c = fq_case(kRange, Mode::train, 30, {{"window_size", 5}});
  c.step.step = 3;
  c.inputs[1] = filled({1}, 0.5f);
  r.push_back({"range_batch_max_wins", c, kFast | kCuda});
  c.inputs[1] = filled({1}, 9.f);
  c.inputs[2].data<float>()[4] = 9.f;
  r.push_back({"range_evicts_the_max", c, kFast | kCuda});
  c.inputs[2].data<float>()[4] = 1.f;
  r.push_back({"range_keeps_the_scale", c, kFast | kCuda});
  c.step.step = 12;
  c.inputs[2].data<float>()[13 % 5] = 9.f;
  r.push_back({"range_past_the_window", c, kFast | kCuda});
  c.mode = Mode::eval;
  r.push_back({"range_eval", c, kFast | kCuda});
}

}  // namespace

QF_OP_CASES(fake_quant) {
  std::vector<NamedCase> r;
  add_thread_cutoff_cases(r);
  for (Mode m : {Mode::train, Mode::eval}) {
    const std::string s = m == Mode::eval ? "_eval" : "";
    r.push_back({"abs_max" + s, fq_case(kAbsMax, m, 1), kFast | kCuda});
    r.push_back({"abs_max_4bit" + s, fq_case(kAbsMax, m, 2, {{"bits", 4}}), kFast | kCuda});
    for (int64_t axis : {0, 1})
      r.push_back({"channel_wise_axis" + std::to_string(axis) + s,
                   fq_case(kChannel, m, 3 + axis, {{"quant_axis", axis}}), kFast | kCuda});
    r.push_back({"moving_average_6bit" + s,
                 fq_case(kMovingAverage, m, 10, {{"moving_rate", 0.7}, {"bits", 6}}),
                 kFast | kCuda});
    r.push_back({"observer" + s, fq_case(kObserver, m, 10, {{"moving_rate", 0.7}, {"bits", 6}}),
                 kFast | kCuda});
    r.push_back(
        {"quantizing_observer" + s, fq_case(kObserver, m, 11, {{"quantize", 1}}), kFast | kCuda});
  }
  r.push_back({"abs_max_frozen", fq_case(kAbsMax, Mode::train, 5, {{"frozen", 1}}), kFast | kCuda});
  r.push_back({"moving_average_frozen", fq_case(kMovingAverage, Mode::train, 12, {{"frozen", 1}}),
               kFast | kCuda});
  r.push_back(
      {"observer_frozen", fq_case(kObserver, Mode::train, 12, {{"frozen", 1}}), kFast | kCuda});
  add_window_cases(r);
  return r;
}

}  // namespace qf::test
