// Opening user-named input files (see nn/input_file.h).
#include "nn/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "nn/error.h"

namespace qf {
namespace {

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

}  // namespace

int open_input_file(const std::string& path, const std::string& what) {
  if (path.empty()) throw_input_error(what, ": no file named (empty path)");
  if (path.find('\0') != std::string::npos) throw_input_error(what, " path contains a NUL byte");
  // O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer; on a
  // regular file the flag changes nothing, and anything else is refused below.
  int fd;
  do fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) throw_input_error(what, " '", path, "' does not exist");
    throw_input_error(what, " '", path, "' cannot be opened: ", std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw_input_error(what, " '", path, "' cannot be read: ", std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw_input_error(what, " '", path, "' is ", file_kind(st.st_mode), ", not a regular file");
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

std::string read_input_file(const std::string& path, const std::string& what, uint64_t max_bytes) {
  const int fd = open_input_file(path, what);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw_input_error(what, " '", path, "' cannot be read: ", std::strerror(errno));
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    throw_input_error(what, " '", path, "' is ", st.st_size, " bytes (allowed: at most ", max_bytes,
                      ")");
  std::string text;
  text.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_input_error(what, " '", path, "' cannot be read: ", std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max_bytes)  // the file grew while read
      throw_input_error(what, " '", path, "' is more than ", max_bytes, " bytes (allowed: at most ",
                        max_bytes, ")");
  }
  return text;
}

}  // namespace qf
