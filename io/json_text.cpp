// JSON read from files (see io/json_text.h).
#include "io/json_text.h"

#include "nn/error.h"

namespace qf {
namespace {

// The deepest nesting of arrays and objects in `text`, counting brackets outside strings. Exact
// for valid JSON; for invalid JSON the parser reports the error afterwards.
int nesting_depth(const std::string& text, int stop_above) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character cannot end the string
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > stop_above) return deepest;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

nlohmann::json parse_json_text(const std::string& text, const std::string& what, int max_depth) {
  if (nesting_depth(text, max_depth) > max_depth)
    throw_input_error(what, ": JSON nests arrays and objects deeper than ", max_depth,
                      " levels (allowed: at most ", max_depth, ")");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // Drops nlohmann's "[json.exception.parse_error.101] " tag, keeps the position and reason.
    const std::string msg = e.what();
    const size_t tag_end = msg.find("] ");
    throw_input_error(
        what, ": not valid JSON: ", tag_end == std::string::npos ? msg : msg.substr(tag_end + 2));
  }
}

std::string json_excerpt(const nlohmann::json& v, size_t max_chars) {
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > max_chars) s = s.substr(0, max_chars) + "...";
  return s;
}

}  // namespace qf
