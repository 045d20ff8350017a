// A checkpoint that is damaged or belongs to another run is refused with one line naming the file
// and the field or tensor: nonsense state (epoch 10^15, -5, a fractional seed), NaN or inf weights,
// a missing, extra, reshaped or retyped tensor, a state beyond the run's schedule.
#include "trainer/checkpoint_check.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "models/registry.h"
#include "trainer/checkpoint.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

// The InputError message of `f`, or a test failure.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << "not one line: " << m;
    return m;
  }
  ADD_FAILURE() << "expected an InputError";
  return "";
}

void expect_error(const std::string& message, std::initializer_list<std::string> parts) {
  for (const std::string& p : parts)
    EXPECT_NE(message.find(p), std::string::npos) << "'" << message << "' lacks '" << p << "'";
}

nlohmann::json good_state() {
  return {{"epoch", 2}, {"batch_in_epoch", 5}, {"global_step", 101}, {"seed", 7}};
}

TEST(CheckpointState, ReadsAGoodState) {
  const TrainState s = parse_train_state(good_state(), "ck/state.json");
  EXPECT_EQ(s.epoch, 2);
  EXPECT_EQ(s.batch_in_epoch, 5);
  EXPECT_EQ(s.global_step, 101);
  EXPECT_EQ(s.seed, 7u);
  nlohmann::json big = good_state();
  big["seed"] = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(parse_train_state(big, "f").seed, std::numeric_limits<uint64_t>::max());
}

TEST(CheckpointState, EveryFieldOutOfRangeIsNamed) {
  struct Case {
    const char* field;
    nlohmann::json value;
    const char* shown;
  };
  const Case cases[] = {
      {"epoch", 1000000000000000, "1000000000000000"},
      {"epoch", -5, "-5"},
      {"epoch", 2.5, "2.5"},
      {"epoch", "3", "\"3\""},
      {"batch_in_epoch", -1, "-1"},
      {"global_step", -7, "-7"},
      {"global_step", int64_t{1} << 60, "1152921504606846976"},
      {"seed", 1.5, "1.5"},
      {"seed", -1, "-1"},
      {"seed", nullptr, "null"},
  };
  for (const Case& c : cases) {
    nlohmann::json j = good_state();
    j[c.field] = c.value;
    expect_error(error_of([&] { parse_train_state(j, "runs/x/checkpoint/state.json"); }),
                 {"runs/x/checkpoint/state.json", std::string("'") + c.field + "'", c.shown});
  }
  for (const char* field : {"epoch", "batch_in_epoch", "global_step", "seed"}) {
    nlohmann::json j = good_state();
    j.erase(field);
    expect_error(error_of([&] { parse_train_state(j, "s.json"); }),
                 {"s.json", std::string("'") + field + "' is missing"});
  }
  expect_error(error_of([&] { parse_train_state(nlohmann::json::array(), "s.json"); }),
               {"s.json", "not a JSON object"});
}

TEST(CheckpointState, FieldsMustAgreeWithEachOther) {
  nlohmann::json j = good_state();
  j["global_step"] = 3;  // fewer than the 5 batches of the epoch in progress
  expect_error(error_of([&] { parse_train_state(j, "s.json"); }), {"'global_step' is 3"});
  j = {{"epoch", 4}, {"batch_in_epoch", 0}, {"global_step", 2}, {"seed", 1}};
  expect_error(error_of([&] { parse_train_state(j, "s.json"); }), {"'global_step' is 2"});
}

TEST(CheckpointState, ResumeStateMustFitTheRun) {
  TrainState s;
  s.epoch = 3;
  s.global_step = 300;
  expect_error(error_of([&] { check_resume_state(s, 3, 100, "s.json"); }),
               {"s.json", "'epoch' is 3", "train.epochs 3", "nothing is left to train"});
  expect_error(error_of([&] { check_resume_state(s, 2, 100, "s.json"); }), {"'epoch' is 3"});
  s.epoch = 1;
  s.batch_in_epoch = 100;
  expect_error(error_of([&] { check_resume_state(s, 3, 100, "s.json"); }),
               {"'batch_in_epoch' is 100", "100 batches"});
  s.batch_in_epoch = 99;
  EXPECT_NO_THROW(check_resume_state(s, 3, 100, "s.json"));
}

TEST(CheckpointTensors, NonFiniteValuesAreNamed) {
  TensorMap m;
  m["fc.weight"] = Tensor::zeros({2, 3});
  m["fc.bias"] = Tensor::zeros({2});
  m["counter"] = Tensor::zeros({1}, DType::i64);
  EXPECT_NO_THROW(check_finite(m, "model.safetensors"));
  m["fc.weight"].data<float>()[4] = std::numeric_limits<float>::quiet_NaN();
  expect_error(error_of([&] { check_finite(m, "ck/model.safetensors"); }),
               {"ck/model.safetensors", "'fc.weight'", "NaN", "element 4 of 6"});
  m["fc.weight"].data<float>()[4] = 0;
  m["fc.bias"].data<float>()[1] = -std::numeric_limits<float>::infinity();
  expect_error(error_of([&] { check_finite(m, "f"); }), {"'fc.bias'", "-inf"});
  TensorMap d;
  d["x"] = Tensor::zeros({2}, DType::f64);
  d["x"].data<double>()[0] = std::numeric_limits<double>::infinity();
  expect_error(error_of([&] { check_finite(d, "f"); }), {"'x'", "inf"});
}

Graph tiny_graph() {
  Graph g;
  ModelBuilder b(g);
  int x = b.input("image", {-1, 1, 4, 4});
  x = b.batch_norm("bn", x, 1);
  x = b.flatten("flatten", x);
  x = b.linear("fc", x, 16, 3);
  g.mark_output(x);
  return g;
}

TEST(CheckpointTensors, ModelMustMatchExactly) {
  Graph g = tiny_graph();
  CpuContext ctx(1);
  ParamStore store(g, ctx, 1);
  TensorMap good = store.state_dict();
  EXPECT_NO_THROW(check_model_matches(store, good, "m.safetensors"));

  TensorMap missing = good;
  missing.erase("fc.weight");
  expect_error(error_of([&] { check_model_matches(store, missing, "ck/model.safetensors"); }),
               {"ck/model.safetensors", "'fc.weight'", "float32 [3, 16]", "is missing"});
  TensorMap extra = good;
  extra["fc2.weight"] = Tensor::zeros({2, 2});
  expect_error(error_of([&] { check_model_matches(store, extra, "m"); }),
               {"'fc2.weight'", "not part of this model"});
  TensorMap reshaped = good;
  reshaped["fc.bias"] = Tensor::zeros({4});
  expect_error(error_of([&] { check_model_matches(store, reshaped, "m"); }),
               {"'fc.bias'", "float32 [4]", "the model's is float32 [3]"});
  TensorMap retyped = good;
  retyped["fc.bias"] = Tensor::zeros({3}, DType::f64);
  expect_error(error_of([&] { check_model_matches(store, retyped, "m"); }),
               {"'fc.bias'", "float64 [3]"});
}

TEST(CheckpointTensors, OptimizerMustMatchExactly) {
  Graph g = tiny_graph();
  CpuContext ctx(1);
  ParamStore store(g, ctx, 1);
  TensorMap opt;
  for (const ParamEntry& e : store.params()) opt[e.name + ".momentum"] = Tensor::zeros(e.shape);
  EXPECT_NO_THROW(check_optimizer_matches(store, opt, "o"));
  TensorMap missing = opt;
  missing.erase("fc.bias.momentum");
  expect_error(
      error_of([&] { check_optimizer_matches(store, missing, "ck/optimizer.safetensors"); }),
      {"ck/optimizer.safetensors", "'fc.bias.momentum'", "is missing"});
  TensorMap extra = opt;
  extra["bn.running_mean.momentum"] = Tensor::zeros({1});
  expect_error(error_of([&] { check_optimizer_matches(store, extra, "o"); }),
               {"'bn.running_mean.momentum'", "not part of this model"});
}

// load_checkpoint applies the format checks to what it reads, naming the file.
TEST(CheckpointLoad, RefusesNonFiniteWeightsAndBadState) {
  const fs::path dir = fs::temp_directory_path() / ("qf_ckcheck_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  Checkpoint c;
  c.model["w"] = Tensor::zeros({3});
  c.optimizer["w.momentum"] = Tensor::zeros({3});
  c.state.epoch = 1;
  c.state.global_step = 10;
  save_checkpoint(dir.string(), c);
  const Checkpoint back = load_checkpoint(dir.string());
  EXPECT_TRUE(back.has_state);
  EXPECT_EQ(back.state.global_step, 10);
  EXPECT_EQ(back.dir, dir.string());

  c.optimizer["w.momentum"].data<float>()[2] = std::numeric_limits<float>::infinity();
  save_checkpoint(dir.string(), c);
  expect_error(error_of([&] { load_checkpoint(dir.string()); }),
               {(dir / "optimizer.safetensors").string(), "'w.momentum'", "inf"});

  c.optimizer["w.momentum"].data<float>()[2] = 0;
  c.state.global_step = 0;  // fewer than its one finished epoch
  save_checkpoint(dir.string(), c);
  expect_error(error_of([&] { load_checkpoint(dir.string()); }),
               {(dir / "state.json").string(), "'global_step'"});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace qf
