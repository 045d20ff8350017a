// Running a peer benchmark (a PyTorch script) from a qforge benchmark: the peer prints one JSON
// object last, with "images_per_sec"; the benchmark prints it beside its own figure.
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace qf::bench {

// Runs `command` in a shell and returns the images_per_sec of the last JSON object it printed, or
// 0 when it could not run, failed, or printed none (the table then says the peer is missing).
inline double peer_images_per_sec(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) return 0;
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) out += buf;
  if (pclose(p) != 0 || out.find('{') == std::string::npos) return 0;
  try {
    return nlohmann::json::parse(out.substr(out.rfind('{'))).at("images_per_sec").get<double>();
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
}

}  // namespace qf::bench
