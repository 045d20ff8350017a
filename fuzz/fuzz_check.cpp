// What every fuzz target checks (see fuzz/fuzz_check.h).
#include "fuzz/fuzz_check.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>

#include "nn/error.h"

namespace qf::fuzz {

bool expect_success_or_input_error(const std::function<void()>& parse) {
  try {
    parse();
    return true;
  } catch (const InputError& e) {
    // The CLI prints it through printable_line (nn/error.h), so whatever user text it quotes
    // (newlines included) it is one line; it must say something.
    if (std::string(e.what()).empty()) {
      std::fprintf(stderr, "fuzz: an InputError with an empty message\n");
      std::abort();
    }
    return false;
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "fuzz: not an InputError (qforge would say 'internal error', exit 3): %s\n",
                 e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "fuzz: a thrown value that is not a std::exception\n");
    std::abort();
  }
}

namespace {

std::string make_scratch_dir() {
  const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::getenv("TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/qf-fuzz-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  static const std::string removed_at_exit = dir;
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(removed_at_exit, ec);
  });
  return dir;
}

}  // namespace

const std::string& scratch_dir() {
  static const std::string dir = make_scratch_dir();
  return dir;
}

void write_file(const std::string& path, const uint8_t* data, size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(path.c_str());
    std::abort();
  }
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) {
      std::perror(path.c_str());
      std::abort();
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

}  // namespace qf::fuzz
