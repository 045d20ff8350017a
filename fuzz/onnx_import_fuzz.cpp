// Fuzz target: an ONNX model file as `qforge eval/infer/bench/ptq-dynamic --model` read it —
// protobuf parse, import (io/onnx_import.h: per-op attribute checks, constant folding, shape
// inference) and, for models small enough, the int8 lowering and one forward pass of a batch of 2
// on the CPU, as `infer` and `bench` would run it.
//
// Mutation: half of the time libFuzzer's byte-level mutators, half of the time one structural
// change to the parsed ModelProto (fuzz/proto_mutator.h), so mutants stay ONNX models and reach the
// importer's checks instead of failing in the protobuf parser.
#include <onnx/onnx_pb.h>

#include <cstdlib>
#include <random>

#include "fuzz/fuzz_check.h"
#include "fuzz/proto_mutator.h"
#include "io/onnx_file.h"
#include "io/onnx_import.h"
#include "launch/lib/inference.h"
#include "nn/context.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace {

// Forward passes are run only when every activation of the graph at batch 1 fits in this many
// elements together: enough for the seed models, small enough to keep an input under a millisecond
// or two.
constexpr int64_t kMaxRunElements = 1 << 16;

qf::DeviceContext& cpu() {
  static const std::unique_ptr<qf::DeviceContext> ctx = [] {
    qf::ContextOptions o;
    o.cpu_threads = 1;
    return qf::make_context(qf::Device::cpu(), o);
  }();
  return *ctx;
}

bool small_enough_to_run(const qf::Graph& g) {
  static const bool import_only = std::getenv("QF_FUZZ_IMPORT_ONLY") != nullptr;
  if (import_only) return false;
  int64_t total = 0;
  for (const qf::Value& v : g.values()) {
    qf::Shape s = v.shape;
    if (!s.empty() && s[0] < 0) s[0] = 1;
    const auto n = qf::checked_numel(s);
    if (!n) return false;
    total += *n;
    if (total > kMaxRunElements) return false;
  }
  return true;
}

void import_and_run(const uint8_t* data, size_t size) {
  onnx::ModelProto m;
  qf::parse_onnx_model(data, size, "'fuzz.onnx'", m);
  qf::Graph g = qf::import_onnx_model(m, "ONNX model 'fuzz.onnx'");
  if (!small_enough_to_run(g)) return;
  qf::Console quiet(false, false);
  const qf::Shape s = g.value(g.value_id("image")).shape;  // g moves into the model
  qf::InferenceModel model(std::move(g), cpu(), {}, quiet);
  qf::Shape batch = s;
  batch[0] = 2;
  qf::Tensor x = qf::Tensor::zeros(batch, qf::DType::f32);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i % 7) - 3.f;
  model.run_logical(x, 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  qf::fuzz::expect_success_or_input_error([&] { import_and_run(data, size); });
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  std::mt19937_64 rng(seed);
  onnx::ModelProto m;
  if (rng() % 2 == 0 || size > static_cast<size_t>(INT32_MAX) ||
      !m.ParseFromArray(data, static_cast<int>(size)))
    return LLVMFuzzerMutate(data, size, max_size);
  static const std::vector<std::string> op_types = [] {
    std::vector<std::string> v = qf::onnx_import_supported_ops();
    for (const char* t : {"Shape", "Gather", "Cast", "Slice", "Sub", "Div", "Expand", "Transpose"})
      v.push_back(t);
    return v;
  }();
  const int changes = 1 + static_cast<int>(rng() % 3);
  for (int i = 0; i < changes; ++i) qf::fuzz::mutate_message(m, rng, op_types);
  std::string out;
  if (!m.SerializeToString(&out) || out.size() > max_size)
    return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}
