// configs/imagenet/*.ini: every key of every section must exist and hold an allowed value — the
// run configuration's sections, [quant] (quant-aware training) and, in *_ptq.ini, [ptq] and its
// [quant] — and the recipes must carry the seeds' figures.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "launch/lib/config_schema.h"
#include "launch/lib/quant_keys.h"
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
    QuantSection q;
    PtqConfig ptq;
    bind_run_config(schema, c);
    if (entry.path().stem().string().ends_with("_ptq"))
      bind_ptq_config(schema, ptq);
    else
      bind_quant_config(schema, q);
    std::set<std::string> sections;
    for (const std::string& k : schema.keys()) sections.insert(k.substr(0, k.find('.')));
    for (const auto& [key, value] : read_ini(entry.path())) {
      const std::string section = key.substr(0, key.find('.'));
      EXPECT_TRUE(sections.count(section)) << entry.path() << ": unknown section [" << section << "]";
      if (key == "model.name") EXPECT_TRUE(find_model(value)) << entry.path() << ": " << value;
      EXPECT_NO_THROW(schema.set(key, value, entry.path().filename().string()))
          << entry.path() << ": " << key << " = " << value;
    }
    if (!ptq.algo.empty() && ptq.out.empty()) ptq.out = "int8.onnx";  // given with --out
    EXPECT_NO_THROW(schema.validate()) << entry.path();
    EXPECT_EQ(c.data.format, "imagelist") << entry.path();
    EXPECT_EQ(c.model_form, "imagenet") << entry.path();
  }
  EXPECT_EQ(files, 13);
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
    EXPECT_EQ(p.at("ptq.batch_size"), "16") << ptq;
    EXPECT_EQ(p.at("ptq.weight_quantize_type"), "channel_wise_abs_max") << ptq;
    EXPECT_EQ(p.at("ptq.weight_bits"), "8") << ptq;
  }
}

}  // namespace
}  // namespace qf
