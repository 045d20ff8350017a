#include "trainer/console.h"

#include <unistd.h>

#include <exception>

namespace qf {

Console Console::for_rank(int rank) {
  Console c(rank == 0, isatty(STDERR_FILENO) != 0);
  c.held_ = true;
  return c;
}

Console::~Console() {
  if (std::uncaught_exceptions() == 0) release();  // a failing command's lines are dropped
}

void Console::release() {
  held_ = false;
  for (const std::string& line : held_lines_) info(line);
  held_lines_.clear();
}

void Console::info(const std::string& line) {
  if (!enabled_) return;
  if (held_) {
    held_lines_.push_back(line);
    return;
  }
  end_progress();
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void Console::progress(const std::string& line) {
  if (held_) release();
  if (!enabled_ || !tty_) return;
  std::fprintf(out_, "\r\033[K%s", line.c_str());
  std::fflush(out_);
  progress_shown_ = true;
}

void Console::end_progress() {
  if (!progress_shown_) return;
  std::fprintf(out_, "\n");
  std::fflush(out_);
  progress_shown_ = false;
}

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds != seconds) seconds = 0;
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
  return buf;
}

}  // namespace qf
