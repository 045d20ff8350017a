// Atomic files and directories: the target is either the old or the new content, failed writers
// leave no temporaries, directory replacement falls back to `<dir>.prev` after a crash between the
// two renames, and file-system failures are InputErrors naming the path with the system's reason.
#include "io/atomic_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

#include "tests/io/temp_dir.h"

namespace qf::test {
namespace {

namespace fs = std::filesystem;

// Names of the entries directly in `dir`, sorted.
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(AtomicFile, ReplacesTheFileAndLeavesNoTemporary) {
  TempDir dir;
  const std::string path = dir.file("config.ini");
  write_raw(path, "old");
  std::string seen_tmp;
  write_file_atomically(path, [&](const std::string& tmp) {
    seen_tmp = tmp;
    EXPECT_EQ(fs::path(tmp).parent_path(), fs::path(path).parent_path()) << "not a sibling";
    EXPECT_NE(tmp, path);
    write_raw(tmp, "new");
    EXPECT_EQ(read_raw(path), "old") << "the target changed before the rename";
  });
  EXPECT_EQ(read_raw(path), "new");
  EXPECT_FALSE(fs::exists(seen_tmp));
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"config.ini"});
}

TEST(AtomicFile, ThrowingWriterLeavesOldFileIntact) {
  TempDir dir;
  const std::string path = dir.file("weights.bin");
  write_raw(path, "the old weights");
  EXPECT_THROW(write_file_atomically(path,
                                     [&](const std::string& tmp) {
                                       write_raw(tmp, "half of the new");
                                       throw std::runtime_error("disk full, say");
                                     }),
               std::runtime_error);
  EXPECT_EQ(read_raw(path), "the old weights");
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"weights.bin"});

  // Also when the file did not exist before: nothing appears.
  const std::string fresh = dir.file("fresh.bin");
  EXPECT_THROW(write_file_atomically(fresh,
                                     [&](const std::string& tmp) {
                                       write_raw(tmp, "x");
                                       throw_input_error("bad value");
                                     }),
               InputError);
  EXPECT_FALSE(fs::exists(fresh));
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"weights.bin"});
}

TEST(AtomicFile, TextRoundTripWithBinaryAndLargeContent) {
  TempDir dir;
  const std::string path = dir.file("blob.txt");
  std::string text(200000, '\0');
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>(i * 131 % 251);
  write_text_file_atomically(path, text);
  EXPECT_EQ(read_text_file(path), text);
  write_text_file_atomically(path, "");
  EXPECT_EQ(read_text_file(path), "");
  EXPECT_EQ(listing(dir.path()), std::vector<std::string>{"blob.txt"});
}

TEST(AtomicFile, FailuresNameThePathAndReason) {
  TempDir dir;
  const std::string missing = dir.file("missing.txt");
  expect_input_error([&] { read_text_file(missing); }, missing, "No such file or directory");
  const std::string nodir = dir.file("no/dir/out.txt");
  expect_input_error([&] { write_text_file_atomically(nodir, "x"); }, nodir,
                     "No such file or directory");
  expect_input_error([&] { read_text_file(dir.path().string()); }, dir.path().string(),
                     "Is a directory");
}

TEST(AtomicDir, CreatesAndReplacesDirectories) {
  TempDir root;
  const std::string ckpt = root.file("ckpt");
  write_dir_atomically(ckpt, [](const std::string& tmp) {
    write_raw(tmp + "/a.txt", "one");
    fs::create_directory(tmp + "/sub");
    write_raw(tmp + "/sub/b.txt", "two");
  });
  EXPECT_EQ(read_raw(ckpt + "/sub/b.txt"), "two");

  std::string seen_tmp;
  write_dir_atomically(ckpt + "/", [&](const std::string& tmp) {  // trailing slash: same dir
    seen_tmp = tmp;
    EXPECT_TRUE(fs::is_directory(tmp));
    EXPECT_TRUE(fs::is_empty(tmp));
    EXPECT_EQ(read_raw(ckpt + "/a.txt"), "one") << "the old dir changed before the renames";
    write_raw(tmp + "/c.txt", "three");
  });
  EXPECT_EQ(fs::path(seen_tmp).parent_path(), root.path()) << "temporary is not a sibling";
  EXPECT_EQ(listing(ckpt), std::vector<std::string>{"c.txt"});
  EXPECT_EQ(listing(root.path()), std::vector<std::string>{"ckpt"}) << "leftover tmp or prev";
  EXPECT_EQ(read_dir_path(ckpt), ckpt);
}

TEST(AtomicDir, ThrowingFillLeavesOldDirectoryIntact) {
  TempDir root;
  const std::string ckpt = root.file("ckpt");
  write_dir_atomically(ckpt, [](const std::string& tmp) { write_raw(tmp + "/a.txt", "one"); });
  EXPECT_THROW(write_dir_atomically(ckpt,
                                    [](const std::string& tmp) {
                                      write_raw(tmp + "/a.txt", "partial");
                                      throw std::runtime_error("out of memory, say");
                                    }),
               std::runtime_error);
  EXPECT_EQ(read_raw(ckpt + "/a.txt"), "one");
  EXPECT_EQ(listing(root.path()), std::vector<std::string>{"ckpt"});
}

TEST(AtomicDir, ReadPathFallsBackToPrevAfterACrash) {
  TempDir root;
  const std::string ckpt = root.file("ckpt");
  EXPECT_EQ(read_dir_path(ckpt), ckpt) << "neither exists: the asked-for path";

  // The state a crash between "rename dir -> dir.prev" and "rename tmp -> dir" leaves.
  fs::create_directory(ckpt + ".prev");
  write_raw(ckpt + ".prev/a.txt", "last good");
  EXPECT_EQ(read_dir_path(ckpt), ckpt + ".prev");
  EXPECT_EQ(read_raw(read_dir_path(ckpt) + "/a.txt"), "last good");

  // The next write recovers: the new dir appears and the stale prev goes.
  write_dir_atomically(ckpt, [](const std::string& tmp) { write_raw(tmp + "/a.txt", "next"); });
  EXPECT_EQ(read_dir_path(ckpt), ckpt);
  EXPECT_EQ(read_raw(ckpt + "/a.txt"), "next");
  EXPECT_EQ(listing(root.path()), std::vector<std::string>{"ckpt"});

  // A crash after both renames leaves dir and dir.prev; dir wins and prev is cleaned up next time.
  fs::create_directory(ckpt + ".prev");
  EXPECT_EQ(read_dir_path(ckpt), ckpt);
  write_dir_atomically(ckpt, [](const std::string& tmp) { write_raw(tmp + "/a.txt", "again"); });
  EXPECT_EQ(read_raw(ckpt + "/a.txt"), "again");
  EXPECT_EQ(listing(root.path()), std::vector<std::string>{"ckpt"});
}

TEST(AtomicDir, RejectsPathsWithoutAName) {
  expect_input_error([] { write_dir_atomically("", [](const std::string&) {}); }, "", "empty");
  expect_input_error([] { write_dir_atomically("/", [](const std::string&) {}); }, "'/'",
                     "needs a name");
  expect_input_error([] { write_dir_atomically("a/..", [](const std::string&) {}); }, "'a/..'",
                     "needs a name");
}

}  // namespace
}  // namespace qf::test
