// What `qforge help`, `qforge help <command>` (= `qforge <command> --help`) and `qforge --version`
// print.
#pragma once

#include <string>
#include <vector>

#include "launch/lib/command_table.h"
#include "launch/lib/config_schema.h"

namespace qf {

// Facts fixed when qforge was built (cmake/build_info.cmake writes them into the qforge program).
struct BuildInfo {
  std::string version;     // the project's version (CMakeLists.txt)
  std::string commit;      // git commit of the sources ("" when not built from a git checkout)
  bool modified = false;   // the checkout had uncommitted changes to tracked files
  std::string compiler;    // "GNU 12.2.0"
  std::string build_type;  // Release, ...
  // The backends compiled in, each "name version" (or "name: not built, why" when left out).
  std::vector<std::string> backends;
};

// This program's facts: defined in the file cmake/build_info.cmake generates, which only the qforge
// program links (tests link the libraries without it).
const BuildInfo& build_info();

// `qforge help`: the commands and where to read more.
std::string general_help();
// `qforge help <command>`: the synopsis, then every key the command reads, by section, with its
// aliases, kind and default.
std::string command_help(const CommandSpec& spec, const ConfigSchema& schema);
// `qforge --version`.
std::string version_text(const BuildInfo& info);

}  // namespace qf
