// Running the qforge binary from a test: each test gets its own temporary folder (removed after),
// run() returns the exit code and stderr, expect_input_error() checks the "bad input" contract —
// exit code 2 and exactly one line naming the problem.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace qf::test {

struct CliResult {
  int code;
  std::string err;
};

inline std::string read_text_file(const std::string& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class QforgeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = std::filesystem::temp_directory_path() /
           ("qf_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(tmp_);
    std::filesystem::create_directories(tmp_);
  }
  void TearDown() override { std::filesystem::remove_all(tmp_); }
  CliResult run(const std::string& args) {
    const std::string cmd = std::string(QF_BINARY_DIR) + "/qforge " + args + " >" +
                            (tmp_ / "out").string() + " 2>" + (tmp_ / "err").string();
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text_file((tmp_ / "err").string())};
  }
  void expect_input_error(const CliResult& r, const std::string& needle) {
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  }
  std::filesystem::path tmp_;
};

}  // namespace qf::test
