// Console output of a run: plain lines, and a progress line that redraws in place on a terminal.
// Only rank 0 has an enabled console; on other ranks every call does nothing.
#pragma once

#include <cstdio>
#include <string>

namespace qf {

class Console {
 public:
  // `tty`: whether stderr is a terminal (progress redraws in place) or a log (periodic lines).
  Console(bool enabled, bool tty, FILE* out = stderr) : enabled_(enabled), tty_(tty), out_(out) {}
  static Console for_rank(int rank);  // enabled on rank 0, tty detected from stderr

  bool enabled() const { return enabled_; }
  bool tty() const { return tty_; }
  void info(const std::string& line);
  // Terminal only: replaces the current progress line.
  void progress(const std::string& line);
  void end_progress();

 private:
  bool enabled_;
  bool tty_;
  FILE* out_;
  bool progress_shown_ = false;
};

// "1:02:03" / "02:03".
std::string format_duration(double seconds);

}  // namespace qf
