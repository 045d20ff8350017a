// Atomic file and directory writes (see io/atomic_file.h).
//
// File:      write(<path>.tmp-<pid>-<n>) -> fsync(tmp) -> rename(tmp, path) -> fsync(dir of path).
// Directory: fill(<dir>.tmp-<pid>) -> fsync its files and itself -> rename(dir, <dir>.prev)
//            -> rename(tmp, dir) -> fsync(parent) -> remove <dir>.prev.
// A crash leaves either the old or the new content under `path`; for directories a crash between
// the two renames leaves only <dir>.prev, which read_dir_path() then returns.
//
// Failures of the file system (cannot open, write, rename) are InputErrors naming the path and
// strerror(errno): they come from the user's paths, permissions and disks.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "nn/error.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void throw_errno(const char* action, const std::string& path, int err) {
  throw_input_error("cannot ", action, " '", path, "': ", std::strerror(err));
}

// An owned POSIX file descriptor.
class Fd {
 public:
  Fd(const std::string& path, int flags, mode_t mode = 0644) : path_(path) {
    do fd_ = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) throw_errno("open", path, errno);
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }

  void sync() const {
    if (::fsync(fd_) != 0) throw_errno("fsync", path_, errno);
  }
  // Closes explicitly so that a failing close (delayed write error) is reported.
  void close() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw_errno("close", path_, errno);
  }

 private:
  std::string path_;
  int fd_ = -1;
};

void fsync_path(const std::string& path, bool directory) {
  Fd fd(path, directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  fd.sync();
}

// The directory holding `p`, "." for a bare file name.
std::string parent_dir(const fs::path& p) {
  const fs::path parent = p.parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// `dir` without trailing separators, so that "<dir>.tmp-<pid>" is a sibling, not a child.
fs::path normalized_dir(const std::string& dir) {
  if (dir.empty()) throw_input_error("directory path is empty");
  fs::path p = fs::path(dir).lexically_normal();
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  if (!p.has_filename() || p.filename() == "." || p.filename() == "..")
    throw_input_error("cannot write directory '", dir, "' atomically: it needs a name (not '",
                      p.string(), "')");
  return p;
}

void rename_path(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    throw_input_error("cannot rename '", from, "' to '", to, "': ", std::strerror(errno));
}

void remove_all_quietly(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
}

// fsyncs every file and directory under `dir`, then `dir` itself.
void fsync_tree(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::file_status st = it->symlink_status();
    if (fs::is_regular_file(st))
      fsync_path(it->path().string(), false);
    else if (fs::is_directory(st))
      fsync_path(it->path().string(), true);
  }
  if (ec) throw_input_error("cannot list directory '", dir.string(), "': ", ec.message());
  fsync_path(dir.string(), true);
}

std::string pid_suffix() {
  return std::to_string(static_cast<long>(::getpid()));
}

}  // namespace

void write_file_atomically(const std::string& path,
                           const std::function<void(const std::string& tmp_path)>& write) {
  static std::atomic<unsigned long> counter{0};
  const std::string tmp = str_cat(path, ".tmp-", pid_suffix(), "-", counter.fetch_add(1));
  try {
    write(tmp);
    QF_CHECK(fs::is_regular_file(tmp), "writing '", path, "': the writer did not create '", tmp,
             "'");
    fsync_path(tmp, false);
    rename_path(tmp, path);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  fsync_path(parent_dir(fs::path(path)), true);
}

void write_dir_atomically(const std::string& dir,
                          const std::function<void(const std::string& tmp_dir)>& fill) {
  const fs::path target = normalized_dir(dir);
  const fs::path tmp = target.string() + ".tmp-" + pid_suffix();
  const fs::path prev = target.string() + ".prev";
  const std::string parent = parent_dir(target);

  // A leftover from an earlier run whose process had our pid.
  remove_all_quietly(tmp);
  std::error_code ec;
  fs::create_directory(tmp, ec);
  if (ec) throw_input_error("cannot create directory '", tmp.string(), "': ", ec.message());
  try {
    fill(tmp.string());
    fsync_tree(tmp);
  } catch (...) {
    remove_all_quietly(tmp);
    throw;
  }

  if (fs::exists(target, ec)) {
    // Both present: an earlier run finished its renames but not the removal; prev is stale.
    fs::remove_all(prev, ec);
    if (ec) throw_input_error("cannot remove '", prev.string(), "': ", ec.message());
    rename_path(target.string(), prev.string());
  }
  // If only prev exists (a crash between the renames), it stays until the new dir is in place.
  rename_path(tmp.string(), target.string());
  fsync_path(parent, true);
  fs::remove_all(prev, ec);
  if (ec) throw_input_error("cannot remove '", prev.string(), "': ", ec.message());
}

std::string read_dir_path(const std::string& dir) {
  const fs::path target = normalized_dir(dir);
  std::error_code ec;
  if (fs::exists(target, ec)) return dir;
  const fs::path prev = target.string() + ".prev";
  if (fs::is_directory(prev, ec)) return prev.string();
  return dir;  // neither exists: the caller's error names the path it asked for
}

std::string read_text_file(const std::string& path) {
  Fd fd(path, O_RDONLY);
  std::string text;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read", path, errno);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

void write_text_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, [&](const std::string& tmp) {
    Fd fd(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("write", tmp, errno);
      done += static_cast<size_t>(n);
    }
    fd.close();
  });
}

}  // namespace qf
