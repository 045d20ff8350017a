// Console output of a run: plain lines, and a progress line that redraws in place on a terminal.
// Only rank 0 has an enabled console; on other ranks every call does nothing.
//
// A command's console (for_rank) starts out holding its lines back: bad input is mostly found
// while a command opens and checks what the user named, after it has already said a few things
// (the model, the device), and it must then end with the error line alone. The command calls
// release() once its inputs are checked and before the long work; held lines are then printed.
// A command that fails before that drops them; one that succeeds without calling release() prints
// them when the console goes away.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace qf {

class Console {
 public:
  // `tty`: whether stderr is a terminal (progress redraws in place) or a log (periodic lines).
  Console(bool enabled, bool tty, FILE* out = stderr) : enabled_(enabled), tty_(tty), out_(out) {}
  static Console for_rank(int rank);  // enabled on rank 0, tty detected from stderr, held
  ~Console();
  Console(Console&&) = default;
  Console& operator=(Console&&) = delete;

  // Prints the held lines and stops holding.
  void release();

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
  bool held_ = false;
  std::vector<std::string> held_lines_;
};

// "1:02:03" / "02:03".
std::string format_duration(double seconds);

}  // namespace qf
