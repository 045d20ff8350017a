#include "launch/lib/help.h"

#include <sstream>

namespace qf {
namespace {

// `text` with every line indented by `pad` spaces (empty lines stay empty).
std::string indent(const std::string& text, int pad) {
  std::ostringstream os;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) os << (line.empty() ? "" : std::string(pad, ' ') + line) << "\n";
  return os.str();
}

// Words of `text` wrapped to `width` columns, each line indented by `pad`.
std::string wrap(const std::string& text, int pad, int width) {
  std::ostringstream os;
  std::istringstream in(text);
  std::string word, line;
  while (in >> word) {
    if (!line.empty() && static_cast<int>(line.size() + 1 + word.size()) + pad > width) {
      os << std::string(pad, ' ') << line << "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) os << std::string(pad, ' ') << line << "\n";
  return os.str();
}

// Kinds the default value already shows; the others (choices, lists, true/false) are worth saying.
bool plain_kind(const std::string& kind) {
  return kind == "a string" || kind == "an integer" || kind == "a number" ||
         kind == "a non-negative integer";
}

std::string section_of(const std::string& key) {
  const auto dot = key.find('.');
  return dot == std::string::npos ? "" : key.substr(0, dot);
}

}  // namespace

std::string general_help() {
  std::ostringstream os;
  os << "usage: qforge <command> [--config FILE.ini] [--section.key value ...]\n"
        "       qforge help [<command>]\n"
        "       qforge --version\n\n"
        "commands:\n";
  for (const CommandSpec& c : command_specs()) {
    std::string name = c.name;
    name.resize(12, ' ');
    os << "  " << name << " " << c.summary << "\n";
  }
  os << "\nEvery key of a config file can be given on the command line, e.g. --optimizer.lr 0.01.\n"
        "`qforge help <command>` (or `qforge <command> --help`) lists the keys that command "
        "reads.\n";
  return os.str();
}

std::string command_help(const CommandSpec& spec, const ConfigSchema& schema) {
  std::ostringstream os;
  os << "qforge " << spec.name << ": " << spec.summary << "\n\nusage:\n"
     << indent(spec.usage, 2)
     << "\noptions (a key `section.name` can also be set in the --config FILE.ini as `name = "
        "value`\nunder `[section]`; the command line wins):\n"
     << "  --config FILE.ini\n      read keys from an INI file first\n";
  if (spec.takes_model_file)
    os << "  --model FILE.onnx\n"
       << wrap(
              "the model, as an ONNX file (FP32, or QDQ int8 where the command runs one): a value "
              "ending in .onnx or naming an existing file; any other value names a model to "
              "build (--model.name) for --init's weights",
              6, 100);
  std::string section = "-";
  for (const ConfigSchema::KeyDoc& k : schema.key_docs()) {
    if (section_of(k.key) != section) {
      section = section_of(k.key);
      os << "\n[" << section << "]\n";
    }
    os << "  --" << k.key;
    for (size_t i = 0; i < k.aliases.size(); ++i)
      os << (i == 0 ? " (alias --" : ", --") << k.aliases[i]
         << (i + 1 == k.aliases.size() ? ")" : "");
    os << "  [default: " << (k.value.empty() ? "none" : k.value) << "]\n"
       << wrap(k.help + (plain_kind(k.kind) ? "" : " (" + k.kind + ")"), 6, 100);
  }
  return os.str();
}

std::string version_text(const BuildInfo& info) {
  std::ostringstream os;
  os << "qforge " << info.version;
  if (!info.commit.empty())
    os << " (git " << info.commit << (info.modified ? ", with uncommitted changes" : "") << ")";
  os << "\nbuilt with " << info.compiler << ", " << info.build_type << "\nbackends:\n";
  for (const std::string& b : info.backends) os << "  " << b << "\n";
  return os.str();
}

}  // namespace qf
