// Atomic file and directory writes (see io/atomic_file.h).
//
// File:      write(<path>.tmp-<pid>-<n>) -> fsync(tmp) -> rename(tmp, path) -> fsync(dir of path).
// Directory: fill(<dir>.tmp-<pid>) -> fsync its files and itself -> rename(tmp, <dir>.next)
//            -> fsync(parent) -> rename(dir, <dir>.prev) -> rename(<dir>.next, dir)
//            -> fsync(parent) -> remove <dir>.prev.
// A crash leaves either the old or the new content under `path`. For directories the name tells
// how far a crashed write got: <dir>.tmp-<pid> is unfinished, <dir>.next complete (and newer than
// <dir>, or than <dir>.prev when the crash fell between the last two renames), so read_dir_path()
// and recover_dir_writes() can always pick the newest complete version.
//
// Failures of the file system (cannot open, write, rename) are InputErrors naming the path and
// strerror(errno): they come from the user's paths, permissions and disks.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

void remove_all_or_throw(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) throw_input_error("cannot remove '", p.string(), "': ", ec.message());
}

// The versions of `target` that write_dir_atomically calls may have left (see the top).
struct DirVersions {
  fs::path next, prev;
  bool target_exists = false, next_exists = false, prev_exists = false;
  std::vector<fs::path> tmps;  // <target>.tmp-<pid>, any pid
  fs::path legacy;             // a complete tmp of an older qforge (see recover_dir_writes)
};

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Before <dir>.next existed, qforge renamed <dir> to <dir>.prev only once its tmp was complete;
// so with <dir>.prev alone, the newest tmp that holds every entry of <dir>.prev is that version.
fs::path legacy_complete_tmp(std::vector<fs::path> tmps, const fs::path& prev) {
  std::error_code ec;
  std::vector<std::string> wanted;
  for (const auto& e : fs::directory_iterator(prev, ec)) wanted.push_back(e.path().filename());
  if (ec) return {};
  auto mtime = [](const fs::path& p) {
    std::error_code e;
    return fs::last_write_time(p, e);
  };
  std::sort(tmps.begin(), tmps.end(),
            [&](const fs::path& a, const fs::path& b) { return mtime(a) > mtime(b); });
  for (const fs::path& tmp : tmps)
    if (std::all_of(wanted.begin(), wanted.end(),
                    [&](const std::string& name) { return fs::exists(tmp / name, ec); }))
      return tmp;
  return {};
}

DirVersions find_versions(const fs::path& target) {
  DirVersions v;
  std::error_code ec;
  v.next = target.string() + ".next";
  v.prev = target.string() + ".prev";
  v.target_exists = fs::exists(target, ec);
  v.next_exists = fs::is_directory(v.next, ec);
  v.prev_exists = fs::is_directory(v.prev, ec);
  const std::string prefix = target.filename().string() + ".tmp-";
  for (const auto& e : fs::directory_iterator(parent_dir(target), ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && all_digits(name.substr(prefix.size())) &&
        fs::is_directory(e.symlink_status(ec)))
      v.tmps.push_back(e.path());
  }
  if (!v.target_exists && !v.next_exists && v.prev_exists && !v.tmps.empty())
    v.legacy = legacy_complete_tmp(v.tmps, v.prev);
  return v;
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
  const fs::path next = target.string() + ".next";
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
  // Complete: from here on it is `next`. An older `next` (a crash before its last rename) is
  // superseded by this one.
  remove_all_or_throw(next);
  rename_path(tmp.string(), next.string());
  fsync_path(parent, true);
  if (fs::exists(target, ec)) {
    // Both present: an earlier run finished its renames but not the removal; prev is stale.
    remove_all_or_throw(prev);
    rename_path(target.string(), prev.string());
  }
  // If only prev exists (a crash between the renames), it stays until the new dir is in place.
  rename_path(next.string(), target.string());
  fsync_path(parent, true);
  remove_all_or_throw(prev);
}

std::string read_dir_path(const std::string& dir) {
  const DirVersions v = find_versions(normalized_dir(dir));
  if (v.next_exists) return v.next.string();
  if (v.target_exists) return dir;
  if (!v.legacy.empty()) return v.legacy.string();
  if (v.prev_exists) return v.prev.string();
  return dir;  // none exists: the caller's error names the path it asked for
}

std::vector<std::string> recover_dir_writes(const std::string& dir) {
  const fs::path target = normalized_dir(dir);
  const DirVersions v = find_versions(target);
  std::vector<std::string> notes;
  int removed = 0;
  for (const fs::path& tmp : v.tmps)
    if (tmp != v.legacy) {
      remove_all_or_throw(tmp);
      ++removed;
    }
  if (removed > 0)
    notes.push_back(str_cat("removed ", removed, " unfinished temporary folder(s) ",
                            target.string(), ".tmp-* left by interrupted writes"));
  const fs::path newest = v.next_exists ? v.next : v.legacy;
  const std::string parent = parent_dir(target);
  if (!newest.empty()) {
    const fs::path older = v.target_exists ? target : v.prev;
    if (v.target_exists) {
      remove_all_or_throw(v.prev);
      rename_path(target.string(), v.prev.string());
    }
    rename_path(newest.string(), target.string());
    fsync_path(parent, true);
    remove_all_or_throw(v.prev);
    notes.push_back(str_cat("adopted ", newest.string(),
                            ", complete and written just before a run stopped, as ",
                            target.string(), " (in place of the older ", older.string(), ")"));
  } else if (!v.target_exists && v.prev_exists) {
    rename_path(v.prev.string(), target.string());
    fsync_path(parent, true);
    notes.push_back(str_cat("restored ", target.string(), " from ", v.prev.string(),
                            " (a run stopped while replacing it)"));
  } else if (v.prev_exists) {
    remove_all_or_throw(v.prev);
  }
  return notes;
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
