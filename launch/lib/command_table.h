// The qforge commands: name, entry point, what `qforge help` and `qforge help <command>` say about
// each, and which config keys each one reads (ConfigSchema::set_command: --help lists only those,
// the command line refuses the others).
#pragma once

#include <string>
#include <vector>

#include "launch/lib/commands.h"
#include "launch/lib/config_schema.h"

namespace qf {

struct CommandSpec {
  std::string name;
  int (*run)(const Args&);
  std::string summary;             // one line
  std::string usage;               // the synopsis lines and what the command reads and writes
  std::vector<std::string> reads;  // keys ("run.init") and sections ("optimizer.*")
  bool takes_model_file = false;   // `--model FILE.onnx` (launch/lib/model_source.h)
};

// Every command, in the order `qforge help` lists them.
const std::vector<CommandSpec>& command_specs();
// nullptr for an unknown name.
const CommandSpec* find_command(const std::string& name);
// The command names, for "did you mean".
std::vector<std::string> command_names();

// Tells `schema` (with every key the command binds) what `command` reads and how its --help reads.
void describe_command(ConfigSchema& schema, const std::string& command);

}  // namespace qf
