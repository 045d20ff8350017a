// The main of every test program: installs the built-in ops (launch/lib/builtin_ops.h), as
// qforge's own main does, then runs the tests.
#include <gtest/gtest.h>

#include "launch/lib/builtin_ops.h"

int main(int argc, char** argv) {
  qf::install_builtin_ops();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
