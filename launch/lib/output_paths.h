// Where a command will write, checked before it does any work. A mistake in an output path must
// cost nothing: not an hour of training whose checkpoint then has nowhere to go, not a run folder
// half-made in the filesystem root, not an "internal error" from deep inside a write.
//
// An output path is accepted when, resolved against the current folder and its existing symlinks:
//   - it is not the filesystem root or a top-level system folder (/bin, /boot, /dev, /etc, /lib*,
//     /proc, /run, /sbin, /sys, /usr, /var), and no file is written straight into one of those;
//   - it is not inside a pseudo file system (/proc, /sys, /dev and the like: procfs, sysfs,
//     cgroupfs, debugfs, ...), where "files" are kernel interfaces;
//   - the nearest part of it that exists is a folder (not a regular file: `--out model.onnx/run`),
//     and that folder is writable by this process (access(2): permissions and read-only mounts);
//   - what exists there already has the right kind: a folder for a folder, a regular file (or
//     nothing) for a file.
// Each check only looks; nothing is created, so a failed check leaves no trace. A refusal is an
// InputError naming the key (e.g. "run.out"), the path and what is allowed.
#pragma once

#include <string>

namespace qf {

// `path` will be a folder the command creates (if missing) and writes into.
void check_output_folder(const std::string& path, const std::string& key);
// `path` will be a file the command writes (atomically: a temporary file beside it, then rename).
void check_output_file(const std::string& path, const std::string& key);

// create_directories with an InputError (naming the key and the path) instead of a filesystem
// exception when the folder cannot be made.
void create_output_folder(const std::string& path, const std::string& key);

}  // namespace qf
