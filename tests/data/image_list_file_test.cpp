// ImageList::read: the list format (paths, labels, blank lines, CRLF, spaces in paths), where paths
// are resolved (root-relative and split-relative lists), and every bad-input case at construction:
// missing root or list, empty list, a line without a label, a non-integer or out-of-range label, a
// path that escapes the root, a missing file with check_files — each an InputError naming the
// list file and line, or with skip_bad a counted warning and the line dropped (indices of the
// surviving lines stay consecutive). No OpenCV needed: only plain files are written.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/image_list.h"
#include "tests/io/temp_dir.h"

namespace qf {
namespace {

using test::expect_input_error;
using test::TempDir;
using test::write_raw;

// A root with train/ and val/ folders and the given files (empty content).
struct Root {
  TempDir dir;
  explicit Root(const std::vector<std::string>& files = {}) {
    std::filesystem::create_directories(dir.path() / "train" / "n01");
    std::filesystem::create_directories(dir.path() / "val");
    for (const auto& f : files) write_raw(dir.file(f), "x");
  }
  std::string root() const { return dir.path().string(); }
  ImageListOptions options(const std::string& list_text,
                           const std::string& list = "train_list.txt") {
    write_raw(dir.file(list), list_text);
    ImageListOptions o;
    o.root = root();
    o.list = list;
    o.split_dir = "train";
    o.num_classes = 10;
    return o;
  }
};

TEST(ImageListFile, ParsesPathsLabelsAndLineNumbers) {
  Root r;
  const ImageList l = ImageList::read(
      r.options("train/n01/a.JPEG 0\n\n  train/n01/b.JPEG\t9  \r\ntrain/n01/my photo.png 3\r\n\n"));
  ASSERT_EQ(l.size(), 3);
  EXPECT_EQ(l.path(0), "train/n01/a.JPEG");
  EXPECT_EQ(l.path(1), "train/n01/b.JPEG");
  EXPECT_EQ(l.path(2), "train/n01/my photo.png");  // the label is the last token
  EXPECT_EQ(l.label(0), 0);
  EXPECT_EQ(l.label(1), 9);
  EXPECT_EQ(l.label(2), 3);
  EXPECT_EQ(l.line(0), 1);
  EXPECT_EQ(l.line(1), 3);  // blank lines count
  EXPECT_EQ(l.line(2), 4);
  EXPECT_EQ(l.skipped_lines(), 0);
  EXPECT_EQ(l.base(), r.root());
  EXPECT_EQ(l.list_path(), r.root() + "/train_list.txt");
  std::string full;
  l.full_path(2, full);
  EXPECT_EQ(full, r.root() + "/train/n01/my photo.png");
}

TEST(ImageListFile, AbsoluteListPathAndDotComponentsAreFine) {
  Root r;
  ImageListOptions o = r.options("train/./n01/a.JPEG 1\ntrain/n01/..hidden.JPEG 2\n", "lists.txt");
  o.list = r.dir.file("lists.txt");
  const ImageList l = ImageList::read(o);
  EXPECT_EQ(l.size(), 2);
  EXPECT_EQ(l.list_path(), r.dir.file("lists.txt"));
}

TEST(ImageListFile, RootRelativeListsStayRootRelative) {
  Root r({"train/n01/a.JPEG"});
  const ImageList l = ImageList::read(r.options("train/n01/a.JPEG 1\nn01/missing.JPEG 2\n"));
  EXPECT_EQ(l.base(), r.root());
}

TEST(ImageListFile, SplitRelativeListsAreRecognisedFromTheFirstLine) {
  // PaddleSlim's demo lists: paths inside ROOT/train, not ROOT.
  Root r({"train/n01/a.JPEG"});
  const ImageList l = ImageList::read(r.options("n01/a.JPEG 1\nn01/b.JPEG 2\n"));
  EXPECT_EQ(l.base(), r.root() + "/train");
  std::string full;
  l.full_path(1, full);
  EXPECT_EQ(full, r.root() + "/train/n01/b.JPEG");
}

TEST(ImageListFile, MissingRootOrListOrEmptyListIsAnError) {
  Root r;
  ImageListOptions o = r.options("");
  o.root = r.dir.file("nowhere");
  expect_input_error([&] { ImageList::read(o); }, r.dir.file("nowhere"), "does not exist");
  o.root = "";
  expect_input_error([&] { ImageList::read(o); }, "data.root", "no dataset folder");
  o = r.options("");
  o.list = "val_list.txt";  // never written
  expect_input_error([&] { ImageList::read(o); }, r.root() + "/val_list.txt", "does not exist");
  expect_input_error([&] { ImageList::read(r.options("\n \n")); }, "train_list.txt",
                     "no usable sample");
}

struct BadLine {
  std::string line;
  std::string detail;
};

TEST(ImageListFile, EveryBadLineNamesTheListAndLine) {
  const std::vector<BadLine> cases = {
      {"train/n01/a.JPEG", "has no label"},
      {"train/n01/a.JPEG x", "label 'x' is not an integer"},
      {"train/n01/a.JPEG 3.5", "label '3.5' is not an integer"},
      {"train/n01/a.JPEG -1", "label -1 is outside 0..9"},
      {"train/n01/a.JPEG 10", "label 10 is outside 0..9 (model.num_classes = 10)"},
      {"/etc/passwd 1", "is absolute"},
      {"../secret.JPEG 1", "'..' component"},
      {"train/../../secret.JPEG 1", "'..' component"},
      {"train/n01/.. 1", "'..' component"},
  };
  for (const BadLine& c : cases) {
    Root r;
    const ImageListOptions o = r.options("train/n01/ok.JPEG 0\n" + c.line + "\n");
    expect_input_error([&] { ImageList::read(o); }, r.root() + "/train_list.txt:2", c.detail);
  }
}

TEST(ImageListFile, CheckFilesFindsMissingImagesAtConstruction) {
  Root r({"train/n01/a.JPEG"});
  ImageListOptions o = r.options("train/n01/a.JPEG 0\ntrain/n01/b.JPEG 1\n");
  EXPECT_EQ(ImageList::read(o).size(), 2);  // not checked by default
  o.check_files = true;
  expect_input_error([&] { ImageList::read(o); }, "train_list.txt:2",
                     r.root() + "/train/n01/b.JPEG' does not exist");
}

TEST(ImageListFile, SkipBadDropsBadLinesWithOneCountedWarning) {
  Root r({"train/n01/a.JPEG", "train/n01/c.JPEG"});
  ImageListOptions o = r.options(
      "train/n01/a.JPEG 0\n"
      "train/n01/b.JPEG 1\n"   // missing (check_files)
      "train/n01/a.JPEG\n"     // no label
      "../x.JPEG 2\n"          // escapes
      "train/n01/c.JPEG 12\n"  // label out of range
      "train/n01/c.JPEG 7\n");
  o.check_files = true;
  o.skip_bad = true;
  std::vector<std::string> warnings;
  o.warn = [&](const std::string& w) { warnings.push_back(w); };
  const ImageList l = ImageList::read(o);
  ASSERT_EQ(l.size(), 2);
  EXPECT_EQ(l.skipped_lines(), 4);
  EXPECT_EQ(l.path(1), "train/n01/c.JPEG");
  EXPECT_EQ(l.label(1), 7);
  EXPECT_EQ(l.line(1), 6);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("skipped 4 bad line(s) of 6"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("first: line 2"), std::string::npos) << warnings[0];
}

TEST(ImageListFile, SkipBadStillFailsWhenNothingIsLeft) {
  Root r;
  ImageListOptions o = r.options("a.JPEG\nb.JPEG x\n");
  o.skip_bad = true;
  o.warn = [](const std::string&) {};
  expect_input_error([&] { ImageList::read(o); }, "train_list.txt",
                     "no usable sample (2 line(s), 2 skipped as bad)");
}

}  // namespace
}  // namespace qf
