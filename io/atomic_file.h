// Writing files and directories so that a reader never sees a half-written one: write to a
// temporary name next to the target, flush to disk, rename over the target.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace qf {

// Calls write(tmp_path) and renames tmp_path to `path`. If `write` throws, the temporary file is
// removed and `path` is untouched.
void write_file_atomically(const std::string& path,
                           const std::function<void(const std::string& tmp_path)>& write);

// Writes a whole directory: fill(tmp_dir) fills `dir.tmp-<pid>`; once complete and on disk it is
// renamed `dir.next`, and that replaces `dir` (an existing `dir` is moved to `dir.prev` first and
// removed afterwards). So a `dir.tmp-*` is always unfinished and a `dir.next` always complete and
// newer than `dir`. read_dir_path() returns the newest complete version: `dir.next`, else `dir`,
// else `dir.prev` (a crash between the renames; see also recover_dir_writes).
void write_dir_atomically(const std::string& dir,
                          const std::function<void(const std::string& tmp_dir)>& fill);
std::string read_dir_path(const std::string& dir);

// Clears what interrupted write_dir_atomically calls on `dir` left behind, whatever process (pid)
// they were: unfinished `dir.tmp-*` folders are removed, the newest complete version becomes `dir`
// (a `dir.next`, or `dir.prev` when nothing newer exists) and a stale `dir.prev` goes. Versions
// written by qforge before `dir.next` existed are recognised too: a `dir.tmp-*` beside a lone
// `dir.prev` was complete when that qforge stopped between its renames, and is adopted when it
// holds every file `dir.prev` holds. Returns one sentence per change, for the log. Call it only
// while no other process writes `dir`.
std::vector<std::string> recover_dir_writes(const std::string& dir);

// Whole-file helpers with InputError on failure (naming the file).
std::string read_text_file(const std::string& path);
void write_text_file_atomically(const std::string& path, const std::string& text);

}  // namespace qf
