#include "nn/error.h"

#include <cstdio>

namespace qf {

std::string printable_line(const std::string& msg) {
  std::string out;
  out.reserve(msg.size());
  for (const char ch : msg) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace qf
