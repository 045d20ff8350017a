// configs/imagenet/*.ini: every key of every section the run configuration knows must exist and
// hold an allowed value, and the recipes must carry the seeds' figures. Sections that other parts
// of qforge define ([quant], [ptq]) and model names not registered in this build are reported and
// left out, so this test starts checking them as soon as they exist.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "launch/lib/config_schema.h"
#include "launch/lib/run_config.h"
#include "models/registry.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// key -> value of an INI file (sections joined with a dot).
std::map<std::string, std::string> read_ini(const fs::path& path) {
  std::ifstream in(path);
  std::map<std::string, std::string> kv;
  std::string line, section;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    const auto eq = line.find('=');
    kv[section + "." + trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return kv;
}

const fs::path kDir = fs::path(QF_SOURCE_DIR) / "configs" / "imagenet";

TEST(ImagenetConfigs, KnownSectionsUseOnlyExistingKeysAndValues) {
  ASSERT_TRUE(fs::is_directory(kDir));
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kDir)) {
    if (entry.path().extension() != ".ini") continue;
    ++files;
    ConfigSchema schema;
    RunConfig c;
    bind_run_config(schema, c);
    std::set<std::string> sections, reported;
    for (const std::string& k : schema.keys()) sections.insert(k.substr(0, k.find('.')));
    for (const auto& [key, value] : read_ini(entry.path())) {
      const std::string section = key.substr(0, key.find('.'));
      if (!sections.count(section)) {
        if (reported.insert(section).second)
          std::printf("  %s: [%s] is not part of the run configuration in this build\n",
                      entry.path().filename().c_str(), section.c_str());
        continue;
      }
      if (key == "model.name" && !find_model(value)) {
        std::printf("  %s: model %s is not registered in this build\n",
                    entry.path().filename().c_str(), value.c_str());
        continue;
      }
      EXPECT_NO_THROW(schema.set(key, value, entry.path().filename().string()))
          << entry.path() << ": " << key << " = " << value;
    }
    EXPECT_NO_THROW(schema.validate()) << entry.path();
    EXPECT_EQ(c.data.format, "imagelist") << entry.path();
    EXPECT_EQ(c.model_form, "imagenet") << entry.path();
  }
  EXPECT_EQ(files, 9);
}

TEST(ImagenetConfigs, RecipesCarryTheSeedsValues) {
  auto ini = [](const char* name) { return read_ini(kDir / name); };
  const auto v1 = ini("mobilenet_v1_qat.ini");
  EXPECT_EQ(v1.at("optimizer.lr"), "0.0001");
  EXPECT_EQ(v1.at("optimizer.weight_decay"), "3e-5");
  EXPECT_EQ(v1.at("train.epochs"), "1");
  EXPECT_EQ(v1.at("quant.weight_quantize_type"), "channel_wise_abs_max");
  EXPECT_EQ(v1.at("quant.activation_quantize_type"), "moving_average_abs_max");
  EXPECT_EQ(v1.count("quant.activation_preprocess_type"), 0u);
  const auto v3 = ini("mobilenet_v3_large_pact_qat.ini");
  EXPECT_EQ(v3.at("optimizer.lr"), "0.001");
  EXPECT_EQ(v3.at("optimizer.weight_decay"), "2e-5");
  EXPECT_EQ(v3.at("train.epochs"), "30");
  EXPECT_EQ(v3.at("train.label_smoothing"), "0.1");
  EXPECT_EQ(v3.at("data.batch_size"), "128");
  EXPECT_EQ(v3.at("quant.activation_preprocess_type"), "PACT");
  for (const char* ptq : {"mobilenet_v1_ptq.ini", "mobilenet_v2_ptq.ini", "resnet50_ptq.ini"}) {
    const auto p = ini(ptq);
    EXPECT_EQ(p.at("ptq.algo"), "KL") << ptq;
    EXPECT_EQ(p.at("ptq.batch_nums"), "10") << ptq;
    EXPECT_EQ(p.at("quant.weight_bits"), "8") << ptq;
  }
}

}  // namespace
}  // namespace qf
