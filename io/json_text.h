// JSON read from files (safetensors headers, checkpoint state.json): parsed with a nesting limit
// and with errors as one-line InputErrors.
//
// Why a limit: nlohmann::json copies, compares and prints values recursively, one stack frame per
// nesting level, so a 1 MB file of '[' characters would overflow the stack long after parsing.
// None of qforge's JSON files nests deeper than 3 levels; 64 leaves room for anything a person
// writes by hand and is refused before parsing, so deep documents cost no memory either.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace qf {

constexpr int kMaxJsonDepth = 64;

// Parses `text`. InputError "<what>: ..." when it is not valid JSON (with nlohmann's position and
// reason) or nests arrays and objects deeper than `max_depth`.
nlohmann::json parse_json_text(const std::string& text, const std::string& what,
                               int max_depth = kMaxJsonDepth);

// `v` printed compactly for a message, cut to about `max_chars` characters ("..." marks a cut).
std::string json_excerpt(const nlohmann::json& v, size_t max_chars = 80);

}  // namespace qf
