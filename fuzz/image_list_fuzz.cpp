// Fuzz target: an image list file (data/image_list.h: `relative/path label` lines) as
// `--data.format imagelist` reads it at start. Byte 0 chooses the options (skip_bad, check_files,
// num_classes); the rest is the list. The dataset folder holds train/a.JPEG and b.JPEG so that
// the split-folder detection and the file checks have something to find.
#include <filesystem>

#include "data/image_list.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const std::string root = [] {
    const std::string r = qf::fuzz::scratch_dir() + "/imagenet";
    std::filesystem::create_directories(r + "/train");
    const uint8_t jpeg[] = {0xff, 0xd8, 0xff};
    qf::fuzz::write_file(r + "/train/a.JPEG", jpeg, sizeof jpeg);
    qf::fuzz::write_file(r + "/b.JPEG", jpeg, sizeof jpeg);
    return r;
  }();
  qf::fuzz::write_file(root + "/list.txt", data + 1, size - 1);
  qf::ImageListOptions o;
  o.root = root;
  o.list = "list.txt";
  o.split_dir = "train";
  o.skip_bad = data[0] & 1;
  o.check_files = data[0] & 2;
  o.num_classes = (data[0] >> 2) + 1;
  o.warn = [](const std::string&) {};
  qf::fuzz::expect_success_or_input_error([&] {
    const qf::ImageList list = qf::ImageList::read(o);
    std::string path;
    for (int64_t i = 0; i < list.size(); ++i) list.full_path(i, path);
  });
  return 0;
}
