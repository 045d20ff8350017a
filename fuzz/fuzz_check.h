// What every fuzz target checks, and the scratch files some of them need.
//
// The rule for a parser of user input (docs/robustness.md): it returns, or it throws an InputError
// with a message (the CLI prints it as one line whatever it holds). Anything else — another
// exception (an "internal error", exit 3, for the user), a crash, a hang, a sanitizer report, an
// allocation beyond libFuzzer's -malloc_limit_mb — is a finding, and the target aborts so that
// libFuzzer saves the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace qf::fuzz {

// Runs `parse`; returns true when it succeeded, false after a well-formed InputError; aborts
// (printing what was thrown) on anything else.
bool expect_success_or_input_error(const std::function<void()>& parse);

// A folder of this process's own under /dev/shm (or $TMPDIR), made on first use and removed at
// exit.
const std::string& scratch_dir();

// Writes `size` bytes to `path` (replacing it).
void write_file(const std::string& path, const uint8_t* data, size_t size);

}  // namespace qf::fuzz
