#include "nn/omp_wait.h"

#include <unistd.h>

#include <cstdlib>

namespace qf {
namespace {
// Set across the re-execution only: says GOMP_SPINCOUNT is ours, not the user's.
constexpr const char* kMarker = "QF_OMP_SPIN_REEXEC";
}  // namespace

void use_short_omp_spin(char** argv) {
  if (std::getenv(kMarker)) {  // the re-executed process: libgomp has read the setting; child
    unsetenv("GOMP_SPINCOUNT");  // processes (peers, tools) get the environment as it was
    unsetenv(kMarker);
    return;
  }
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  if (setenv("GOMP_SPINCOUNT", kOmpSpinCount, 1) != 0 || setenv(kMarker, "1", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: run on with libgomp's default
  unsetenv("GOMP_SPINCOUNT");
  unsetenv(kMarker);
}

}  // namespace qf
