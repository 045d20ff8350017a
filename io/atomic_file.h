// Writing files and directories so that a reader never sees a half-written one: write to a
// temporary name next to the target, flush to disk, rename over the target.
#pragma once

#include <functional>
#include <string>

namespace qf {

// Calls write(tmp_path) and renames tmp_path to `path`. If `write` throws, the temporary file is
// removed and `path` is untouched.
void write_file_atomically(const std::string& path,
                           const std::function<void(const std::string& tmp_path)>& write);

// Writes a whole directory: fill(tmp_dir) creates its files, then tmp_dir replaces `dir` (an
// existing `dir` is moved to `dir.prev` first and removed afterwards). read_dir_path() returns
// `dir`, or `dir.prev` if a crash happened between the two renames.
void write_dir_atomically(const std::string& dir,
                          const std::function<void(const std::string& tmp_dir)>& fill);
std::string read_dir_path(const std::string& dir);

// Whole-file helpers with InputError on failure (naming the file).
std::string read_text_file(const std::string& path);
void write_text_file_atomically(const std::string& path, const std::string& text);

}  // namespace qf
