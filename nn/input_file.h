// Opening the files a user names as input: models, weights, checkpoints, data, image lists,
// configs. Only regular files are read. A FIFO would block the reader forever (open() itself waits
// for a writer), and a directory, a socket or a device is never what the user meant; each is an
// InputError that says what the path is instead.
//
// Every reader of user-named input opens its file through these two functions (the ones in layers
// above nn/ included), so the rule holds in one place.
#pragma once

#include <cstdint>
#include <string>

namespace qf {

// Opens `path` read-only without blocking on a FIFO and returns the descriptor (the caller closes
// it). InputError "<what> '<path>' <why>" when it does not exist, cannot be opened or is not a
// regular file.
int open_input_file(const std::string& path, const std::string& what);

// The whole content of the regular file `path` (opened as above). InputError when it is longer
// than `max_bytes` ("<what> '<path>' is N bytes (allowed: at most M)") or cannot be read.
std::string read_input_file(const std::string& path, const std::string& what, uint64_t max_bytes);

}  // namespace qf
