// Tests that need something outside the build (PyTorch, ONNX Runtime, Fashion-MNIST, mpirun) skip
// where it is absent and say what to install. CI's fresh-root run sets QF_REQUIRE_OPTIONAL=1: there
// every such dependency must be present, so an absence is a failure that names it, never a quiet skip
// (a missing install step would otherwise pass as "skipped"). GPU tests are not optional in this
// sense: they skip on machines without a GPU whatever the switch says.
#pragma once

#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

namespace qf::test {

inline bool optional_dependencies_required() {
  const char* v = std::getenv("QF_REQUIRE_OPTIONAL");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

}  // namespace qf::test

// QF_SKIP_UNLESS(available, why...): the test goes on when `available`; otherwise it skips with
// `why` (a stream expression), or fails with it under QF_REQUIRE_OPTIONAL=1.
#define QF_SKIP_UNLESS(available, why)                                          \
  do {                                                                          \
    if (!(available)) {                                                         \
      if (::qf::test::optional_dependencies_required())                         \
        FAIL() << "QF_REQUIRE_OPTIONAL=1, but: " << why;                        \
      GTEST_SKIP() << why;                                                      \
    }                                                                           \
  } while (0)
