#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "launch/lib/config_schema.h"
#include "launch/lib/run_config.h"
#include "nn/error.h"

namespace qf {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string write_ini(const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("qf_cfg_" + std::to_string(::getpid()) + "_" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".ini");
  std::ofstream(path) << text;
  return path.string();
}

TEST(ConfigSchema, IniThenCommandLineOverrides) {
  ConfigSchema s;
  RunConfig c;
  bind_run_config(s, c);
  const std::string ini = write_ini(
      "# comment\n[model]\nname = lenet\n[optimizer]\nlr = 0.05  # inline\nmomentum=0.8\n"
      "[schedule]\ntype = piecewise\nmilestones = [1, 2]\n");
  const auto pos = s.parse_args({"--optimizer.lr", "0.01", "--config", ini, "--batch-size=32"});
  EXPECT_TRUE(pos.empty());
  EXPECT_EQ(c.model.name, "lenet");
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.01);  // the command line wins over the file
  EXPECT_DOUBLE_EQ(c.optimizer.momentum, 0.8);
  EXPECT_EQ(c.data.batch_size, 32);
  EXPECT_EQ(c.schedule.milestones, (std::vector<double>{1, 2}));
  EXPECT_TRUE(s.was_set("optimizer.momentum"));
  EXPECT_FALSE(s.was_set("optimizer.weight_decay"));
}

TEST(ConfigSchema, BooleanFlagWithoutValueMeansTrue) {
  ConfigSchema s;
  RunConfig c;
  bind_run_config(s, c);
  s.parse_args({"--optimizer.nesterov", "--lr", "0.2"});
  EXPECT_TRUE(c.optimizer.nesterov);
  EXPECT_DOUBLE_EQ(c.optimizer.lr, 0.2);
  s.parse_args({"--optimizer.nesterov=false"});
  EXPECT_FALSE(c.optimizer.nesterov);
  const std::string e = error_of([&] { s.parse_args({"--optimizer.lr"}); });
  EXPECT_NE(e.find("optimizer.lr"), std::string::npos) << e;  // a value is required
}

TEST(ConfigSchema, UnknownKeyNamesTheClosestValidKeysOnly) {
  ConfigSchema s;
  RunConfig c;
  bind_run_config(s, c);
  const std::string e = error_of([&] { s.parse_args({"--optimizer.learning_rate", "1"}); });
  EXPECT_NE(e.find("unknown option '--optimizer.learning_rate'; did you mean --optimizer.lr?"),
            std::string::npos)
      << e;
  EXPECT_EQ(e.find("--data.root"), std::string::npos) << e;  // not every key
  const std::string ini = write_ini("[optimizer]\nlearning_rate = 1\n");
  const std::string e2 = error_of([&] { s.load_ini(ini); });
  EXPECT_NE(e2.find("unknown config key 'optimizer.learning_rate'"), std::string::npos) << e2;
  EXPECT_NE(e2.find(":2"), std::string::npos) << e2;  // names the line
  EXPECT_NE(e2.find("did you mean optimizer.lr?"), std::string::npos) << e2;
  EXPECT_EQ(e2.find("data.root"), std::string::npos) << e2;
}

TEST(ConfigSchema, KeysTheCommandDoesNotReadAreRefusedOnTheCommandLineOnly) {
  ConfigSchema s;
  RunConfig c;
  bind_run_config(s, c);
  s.set_command("probe", {"model.*", "run.init"}, nullptr);
  EXPECT_TRUE(s.reads("model.scale"));
  EXPECT_FALSE(s.reads("optimizer.lr"));
  const std::string e = error_of([&] { s.parse_args({"--lr", "0.5"}); });
  EXPECT_NE(e.find("--lr (--optimizer.lr) is not read by qforge probe"), std::string::npos) << e;
  EXPECT_DOUBLE_EQ(c.optimizer.lr, OptimizerConfig{}.lr);
  // A config file written for another command still loads; its keys are left alone.
  s.parse_args({"--config", write_ini("[optimizer]\nlr = 0.5\n[model]\nname = lenet\n")});
  EXPECT_EQ(c.model.name, "lenet");
  // --help lists only what the command reads, aliases beside their keys.
  const std::string help = s.help();
  EXPECT_NE(help.find("--model.name (alias --model)"), std::string::npos) << help;
  EXPECT_NE(help.find("--run.init (alias --init)"), std::string::npos) << help;
  EXPECT_EQ(help.find("optimizer"), std::string::npos) << help;
  EXPECT_EQ(help.find("run.out"), std::string::npos) << help;
  // A stale entry (a key no longer bound) is our bug, caught at once.
  EXPECT_THROW(s.set_command("probe", {"model.nonexistent"}, nullptr), InternalError);
}

TEST(ConfigSchema, BadValuesNameKeyValueAndAllowed) {
  ConfigSchema s;
  RunConfig c;
  bind_run_config(s, c);
  std::string e = error_of([&] { s.set("schedule.type", "linear", "--schedule.type"); });
  EXPECT_EQ(e, "schedule.type: 'linear' is not allowed (allowed: constant, piecewise, cosine) "
               "(from --schedule.type)");
  e = error_of([&] { s.set("optimizer.lr", "abc", "x.ini:3"); });
  EXPECT_EQ(e, "optimizer.lr: 'abc' is not a number (from x.ini:3)");
  e = error_of([&] { s.set("optimizer.lr", "0", "--lr"); });
  EXPECT_NE(e.find("out of range (allowed: (0, inf"), std::string::npos) << e;
  e = error_of([&] { s.set("data.batch_size", "1.5", "--batch-size"); });
  EXPECT_NE(e.find("is not an integer"), std::string::npos) << e;
  e = error_of([&] { s.set("optimizer.nesterov", "maybe", "--optimizer.nesterov"); });
  EXPECT_NE(e.find("is not a boolean"), std::string::npos) << e;
  e = error_of([&] { s.set("optimizer.clip_norm", "-1", "--optimizer.clip_norm"); });
  EXPECT_NE(e.find("out of range (allowed: [0, inf"), std::string::npos) << e;
  e = error_of([&] { s.set("model.name", "alexnet", "--model"); });
  EXPECT_NE(e.find("'alexnet' is not allowed (allowed: "), std::string::npos) << e;
}

TEST(ConfigSchema, CrossKeyChecks) {
  ConfigSchema s;
  RunConfig c;
  bind_run_config(s, c);
  s.set("schedule.type", "piecewise", "test");
  EXPECT_NE(error_of([&] { s.validate(); }).find("schedule.milestones"), std::string::npos);
}

TEST(ConfigSchema, ResolvedConfigRoundTripsThroughIni) {
  ConfigSchema a;
  RunConfig ca;
  bind_run_config(a, ca);
  a.parse_args({"--model", "lenet", "--optimizer.weight_decay", "0.0001", "--schedule.milestones",
                "3,6"});
  ConfigSchema b;
  RunConfig cb;
  bind_run_config(b, cb);
  b.load_ini(write_ini(a.to_ini()));
  EXPECT_EQ(a.to_ini(), b.to_ini());
  EXPECT_EQ(cb.model.name, "lenet");
  EXPECT_DOUBLE_EQ(cb.optimizer.weight_decay, 1e-4);
}

TEST(ConfigSchema, ModelFormFillsOnlyUnsetKeys) {
  ConfigSchema s;
  RunConfig c;
  bind_run_config(s, c);
  s.parse_args({"--model.form", "imagenet", "--model.num_classes", "100"});
  apply_model_form(s, c);
  EXPECT_EQ(c.model.num_classes, 100);
  EXPECT_EQ(c.model.in_channels, 3);
  EXPECT_EQ(c.model.image_size, 224);
}

}  // namespace
}  // namespace qf
