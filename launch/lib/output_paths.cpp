// Output path checks (rules in launch/lib/output_paths.h).
#include "launch/lib/output_paths.h"

#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "nn/error.h"

namespace qf {
namespace {

namespace fs = std::filesystem;

// Folders of the operating system that a run must neither be nor write files straight into.
bool is_system_folder(const fs::path& p) {
  static const char* const kSystem[] = {"/",    "/bin",   "/boot",  "/dev",    "/etc",
                                        "/lib", "/lib32", "/lib64", "/libx32", "/proc",
                                        "/run", "/sbin",  "/sys",   "/usr",    "/var"};
  for (const char* s : kSystem)
    if (p == s) return true;
  return false;
}

// True for kernel interface file systems, where a "file" is not storage.
bool is_pseudo_file_system(const fs::path& existing) {
  for (const char* name : {"/proc", "/sys", "/dev"}) {
    const fs::path top(name);
    if (std::mismatch(top.begin(), top.end(), existing.begin(), existing.end()).first == top.end())
      return true;
  }
  struct statfs st;
  if (::statfs(existing.c_str(), &st) != 0) return false;
  switch (static_cast<unsigned long>(st.f_type)) {
    case PROC_SUPER_MAGIC:
    case SYSFS_MAGIC:
    case CGROUP_SUPER_MAGIC:
    case CGROUP2_SUPER_MAGIC:
    case DEBUGFS_MAGIC:
    case SECURITYFS_MAGIC:
    case TRACEFS_MAGIC:
    case BPF_FS_MAGIC:
    case DEVPTS_SUPER_MAGIC:
    case PSTOREFS_MAGIC:
    case EFIVARFS_MAGIC:
      return true;
    default:
      return false;
  }
}

// `path` made absolute with the symlinks of its existing part resolved (so `--out link/run`
// is judged by where it really goes).
fs::path resolve(const std::string& path, const std::string& key) {
  if (path.empty()) throw_input_error(key, ": the path is empty");
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) p = fs::absolute(path, ec).lexically_normal();
  if (ec) throw_input_error(key, " '", path, "': cannot resolve the path: ", ec.message());
  if (p.has_filename() || p == p.root_path()) return p;
  return p.parent_path();  // "runs/x/" -> "runs/x"
}

// The longest leading part of `p` that exists, and its status.
fs::path nearest_existing(const fs::path& p, fs::file_status& status) {
  fs::path cur = p;
  for (;;) {
    std::error_code ec;
    status = fs::status(cur, ec);
    if (!ec && fs::exists(status)) return cur;
    if (cur == cur.root_path() || cur.empty()) return cur;
    cur = cur.parent_path();
  }
}

// The checks shared by folders and files: `target` (resolved) is where the command writes.
void check_place(const std::string& path, const std::string& key, const fs::path& target) {
  fs::file_status st;
  const fs::path existing = nearest_existing(target, st);
  if (is_pseudo_file_system(existing))
    throw_input_error(key, " '", path, "' lies in ", existing.string(),
                      ", a kernel interface file system (allowed: a folder on a disk)");
  if (existing != target && !fs::is_directory(st))
    throw_input_error(key, " '", path, "': '", existing.string(),
                      "' is a file, not a folder, so nothing can be created inside it");
  const fs::path writable =
      existing == target && !fs::is_directory(st) ? existing.parent_path() : existing;
  if (::access(writable.c_str(), W_OK | X_OK) != 0)
    throw_input_error(key, " '", path, "': folder '", writable.string(), "' is not writable (",
                      std::strerror(errno), ")");
}

}  // namespace

void check_output_folder(const std::string& path, const std::string& key) {
  const fs::path target = resolve(path, key);
  if (is_system_folder(target))
    throw_input_error(key, " '", path, "' is ", target.string(),
                      ", a system folder, which cannot hold a run's files (allowed: a folder of "
                      "your own, e.g. runs/name)");
  std::error_code ec;
  const fs::file_status st = fs::status(target, ec);
  if (!ec && fs::exists(st) && !fs::is_directory(st))
    throw_input_error(key, " '", path,
                      "' exists and is not a folder (allowed: a folder, or a "
                      "path that does not exist yet)");
  check_place(path, key, target);
}

void check_output_file(const std::string& path, const std::string& key) {
  const fs::path target = resolve(path, key);
  if (is_system_folder(target.parent_path()) || is_system_folder(target))
    throw_input_error(key, " '", path, "' would be written into ", target.parent_path().string(),
                      ", a system folder (allowed: a file in a folder of your own)");
  std::error_code ec;
  const fs::file_status st = fs::status(target, ec);
  if (!ec && fs::exists(st) && !fs::is_regular_file(st))
    throw_input_error(key, " '", path, "' exists and is ",
                      fs::is_directory(st) ? "a folder" : "not a regular file",
                      " (allowed: a regular file, which is replaced, or a new file)");
  check_place(path, key, target);
}

void create_output_folder(const std::string& path, const std::string& key) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw_input_error(key, " '", path, "': cannot create the folder: ", ec.message());
}

}  // namespace qf
