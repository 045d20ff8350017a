// Running a peer benchmark (a PyTorch script) from a qforge benchmark: the peer prints one JSON
// object last, with "images_per_sec"; the benchmark prints it beside its own figure.
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace qf::bench {

// Runs `command` in a shell and returns the last JSON object it printed, or null when it could not
// run, failed, or printed none (the table then says the figure is missing).
inline nlohmann::json run_json(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) return nullptr;
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) out += buf;
  if (pclose(p) != 0 || out.find('{') == std::string::npos) return nullptr;
  try {
    return nlohmann::json::parse(out.substr(out.rfind('{')));
  } catch (const nlohmann::json::exception&) {
    return nullptr;
  }
}

// The images_per_sec of run_json(command), or 0 when missing.
inline double peer_images_per_sec(const std::string& command) {
  const nlohmann::json j = run_json(command);
  if (!j.is_object() || !j.contains("images_per_sec") || !j.at("images_per_sec").is_number())
    return 0;
  return j.at("images_per_sec").get<double>();
}

}  // namespace qf::bench
