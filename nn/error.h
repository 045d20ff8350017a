// Errors. Two kinds, because users and developers need different things from them:
//  - InputError: the user gave something we cannot use (a config value, a file, a model). The CLI
//    prints its one-line message and exits with code 2. The message names what, where and what is
//    allowed.
//  - InternalError (QF_CHECK): a broken invariant inside qforge. Carries file:line.
// Never use assert(): release builds remove it.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace qf {

class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& what) : std::runtime_error(what) {}
};

class InternalError : public std::runtime_error {
 public:
  explicit InternalError(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// Concatenates its arguments with operator<<.
template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

template <class... Args>
[[noreturn]] void throw_input_error(const Args&... args) {
  throw InputError(str_cat(args...));
}

// `msg` as one printable line: a newline becomes the two characters "\n", any other control
// character "\xNN". Messages quote what the user gave (tensor names, paths, list lines, config
// values), and those may hold anything; the CLI prints every error through this, so an error is
// always one line on stderr whatever it quotes.
std::string printable_line(const std::string& msg);

}  // namespace qf

#define QF_CHECK(cond, ...)                                                                  \
  do {                                                                                       \
    if (!(cond))                                                                             \
      throw ::qf::InternalError(::qf::str_cat(__FILE__, ":", __LINE__, ": check `", #cond, \
                                              "` failed. ", ##__VA_ARGS__));                 \
  } while (0)
