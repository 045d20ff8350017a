// What interrupted directory writes leave behind (io/atomic_file.h): every state a kill can leave
// between and around write_dir_atomically's steps, built by hand, is read as its newest complete
// version and cleaned up by recover_dir_writes, whatever pid the leftovers carry.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "io/atomic_file.h"
#include "tests/io/temp_dir.h"

namespace qf::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A "checkpoint" folder holding a.txt and b.txt with `tag` in them (only a.txt when partial).
void make_version(const std::string& dir, const std::string& tag, bool complete = true) {
  fs::create_directories(dir);
  write_raw(dir + "/a.txt", tag);
  if (complete) write_raw(dir + "/b.txt", tag);
}

bool mentions(const std::vector<std::string>& notes, const std::string& what) {
  return std::any_of(notes.begin(), notes.end(),
                     [&](const std::string& n) { return n.find(what) != std::string::npos; });
}

TEST(DirRecovery, UnfinishedTemporariesOfAnyPidAreRemoved) {
  TempDir root;
  const std::string ckpt = root.file("checkpoint");
  make_version(ckpt, "good");
  make_version(ckpt + ".tmp-1", "partial", false);
  make_version(ckpt + ".tmp-4194303", "partial", false);
  write_raw(root.file("checkpoint.tmp-notapid"), "not ours");  // other names are left alone
  EXPECT_EQ(read_dir_path(ckpt), ckpt);
  const auto notes = recover_dir_writes(ckpt);
  EXPECT_TRUE(mentions(notes, "removed 2 unfinished temporary folder(s)")) << notes.size();
  EXPECT_EQ(listing(root.path()),
            (std::vector<std::string>{"checkpoint", "checkpoint.tmp-notapid"}));
  EXPECT_EQ(read_raw(ckpt + "/a.txt"), "good");
  EXPECT_TRUE(recover_dir_writes(ckpt).empty()) << "a clean folder needs nothing";
}

TEST(DirRecovery, CompleteNextIsAdoptedOverTheOlderVersion) {
  TempDir root;
  const std::string ckpt = root.file("checkpoint");
  // Killed after "tmp -> next": dir is the older checkpoint.
  make_version(ckpt, "old");
  make_version(ckpt + ".next", "new");
  EXPECT_EQ(read_dir_path(ckpt), ckpt + ".next");
  auto notes = recover_dir_writes(ckpt);
  EXPECT_TRUE(mentions(notes, "adopted " + ckpt + ".next")) << (notes.empty() ? "" : notes[0]);
  EXPECT_EQ(read_raw(ckpt + "/b.txt"), "new");
  EXPECT_EQ(listing(root.path()), std::vector<std::string>{"checkpoint"});

  // Killed between "dir -> prev" and "next -> dir".
  fs::rename(ckpt, ckpt + ".prev");
  make_version(ckpt + ".next", "newer");
  make_version(ckpt + ".tmp-77", "partial", false);
  EXPECT_EQ(read_dir_path(ckpt), ckpt + ".next");
  notes = recover_dir_writes(ckpt);
  EXPECT_TRUE(mentions(notes, "adopted")) << notes.size();
  EXPECT_TRUE(mentions(notes, "removed 1 unfinished"));
  EXPECT_EQ(read_raw(ckpt + "/a.txt"), "newer");
  EXPECT_EQ(listing(root.path()), std::vector<std::string>{"checkpoint"});
}

TEST(DirRecovery, LonePrevIsRestored) {
  TempDir root;
  const std::string ckpt = root.file("checkpoint");
  make_version(ckpt + ".prev", "last good");
  EXPECT_EQ(read_dir_path(ckpt), ckpt + ".prev");
  const auto notes = recover_dir_writes(ckpt);
  EXPECT_TRUE(mentions(notes, "restored"));
  EXPECT_EQ(read_raw(ckpt + "/a.txt"), "last good");
  EXPECT_EQ(listing(root.path()), std::vector<std::string>{"checkpoint"});
}

// Before <dir>.next, a kill between the renames left the complete new version as <dir>.tmp-<pid>
// beside <dir>.prev, and it was ignored. It is recognised (it holds every file prev holds) and
// adopted; a partial sibling is not.
TEST(DirRecovery, OlderQforgesCompleteTemporaryIsAdopted) {
  TempDir root;
  const std::string ckpt = root.file("checkpoint");
  make_version(ckpt + ".prev", "old");
  make_version(ckpt + ".tmp-200", "new");
  make_version(ckpt + ".tmp-300", "partial", false);  // newer, but not complete
  EXPECT_EQ(read_dir_path(ckpt), ckpt + ".tmp-200");
  const auto notes = recover_dir_writes(ckpt);
  EXPECT_TRUE(mentions(notes, "adopted " + ckpt + ".tmp-200"));
  EXPECT_EQ(read_raw(ckpt + "/b.txt"), "new");
  EXPECT_EQ(listing(root.path()), std::vector<std::string>{"checkpoint"});
}

TEST(DirRecovery, TheNextWriteAfterAKillSupersedesAStaleNext) {
  TempDir root;
  const std::string ckpt = root.file("checkpoint");
  make_version(ckpt, "old");
  make_version(ckpt + ".next", "stale next");
  write_dir_atomically(ckpt, [](const std::string& tmp) { make_version(tmp, "fresh"); });
  EXPECT_EQ(read_raw(ckpt + "/a.txt"), "fresh");
  EXPECT_EQ(listing(root.path()), std::vector<std::string>{"checkpoint"});
}

}  // namespace
}  // namespace qf::test
