// Reading and validating image lists (format and rules: data/image_list.h). No OpenCV here, so
// the list rules hold (and are tested) in every build.
#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <sstream>

#include "data/image_list.h"
#include "nn/error.h"
#include "nn/input_file.h"

namespace qf {

namespace {

// ImageNet's train_list.txt is 40 MB; a list of 1 GiB is not a list.
constexpr uint64_t kMaxListBytes = uint64_t{1} << 30;

bool is_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n\v\f");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n\v\f");
  return s.substr(b, e - b + 1);
}

// `path` for a message: a NUL byte shown as \0 (printed raw, it would cut the message short).
std::string printable(std::string_view path) {
  std::string s;
  for (char c : path) s += c == '\0' ? std::string("\\0") : std::string(1, c);
  return s;
}

// Why `path` may not be used, or empty when it may: it must be relative and stay inside the root,
// and hold no NUL byte (the file system would see only the part before it: another file).
std::string path_problem(std::string_view path) {
  if (path.find('\0') != std::string_view::npos)
    return "holds a NUL byte (allowed: a path without NUL bytes)";
  if (path.front() == '/') return "is absolute (allowed: a path relative to the dataset root)";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..")
      return "has a '..' component that leaves the dataset root (allowed: paths inside the root)";
    start = end + 1;
  }
  return {};
}

struct ParsedLine {
  std::string_view path;
  int32_t label = 0;
  std::string problem;  // empty when the line is good
};

ParsedLine parse_line(std::string_view text, int num_classes) {
  ParsedLine r;
  const auto split = text.find_last_of(" \t");
  if (split == std::string_view::npos) {
    r.problem = "'" + printable(text) + "' has no label (expected 'relative/path.JPEG label')";
    return r;
  }
  r.path = trim(text.substr(0, split));
  const std::string_view token = text.substr(split + 1);
  int64_t label = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), label);
  if (ec != std::errc() || end != token.data() + token.size()) {
    r.problem = "label '" + printable(token) + "' is not an integer";
    return r;
  }
  if (label < 0 || label >= num_classes) {
    r.problem = "label " + std::to_string(label) + " is outside 0.." +
                std::to_string(num_classes - 1) +
                " (model.num_classes = " + std::to_string(num_classes) + ")";
    return r;
  }
  r.label = static_cast<int32_t>(label);
  r.problem = path_problem(r.path);
  if (!r.problem.empty()) r.problem = "path '" + printable(r.path) + "' " + r.problem;
  return r;
}

}  // namespace

std::string_view ImageList::path(int64_t i) const {
  const auto k = static_cast<size_t>(i);
  return std::string_view(blob_).substr(offsets_[k], offsets_[k + 1] - offsets_[k]);
}

void ImageList::full_path(int64_t i, std::string& out) const {
  out.assign(base_);
  out.push_back('/');
  out.append(path(i));
}

ImageList ImageList::read(const ImageListOptions& o) {
  if (o.num_classes < 1)
    throw_input_error("image list: num_classes ", o.num_classes, " is not allowed (1 or more)");
  if (o.root.empty())
    throw_input_error("image list: no dataset folder given (data.root, e.g. /data/ILSVRC2012)");
  if (!is_dir(o.root))
    throw_input_error("image list: dataset folder '", o.root, "' does not exist (data.root)");
  ImageList list;
  list.list_path_ = !o.list.empty() && o.list.front() == '/' ? o.list : o.root + "/" + o.list;
  list.base_ = o.root;
  if (o.list.empty())
    throw_input_error("image list: no list file named (data.train_list / data.val_list)");
  std::string all;
  try {
    all = read_input_file(list.list_path_, "image list: list file", kMaxListBytes);
  } catch (const InputError& e) {
    throw_input_error(e.what(), " (data.train_list / data.val_list)");
  }
  std::istringstream in(all);

  std::string first_problem;
  std::string text;
  int64_t lineno = 0;
  bool base_decided = false;
  list.offsets_.push_back(0);
  while (std::getline(in, text)) {
    ++lineno;
    const std::string_view line = trim(text);
    if (line.empty()) continue;
    ParsedLine p = parse_line(line, o.num_classes);
    if (p.problem.empty() && !base_decided) {
      base_decided = true;
      const std::string in_root = o.root + "/" + std::string(p.path);
      const std::string in_split = o.root + "/" + o.split_dir + "/" + std::string(p.path);
      if (!o.split_dir.empty() && !is_file(in_root) && is_file(in_split))
        list.base_ = o.root + "/" + o.split_dir;
    }
    if (p.problem.empty() && o.check_files) {
      const std::string full = list.base_ + "/" + std::string(p.path);
      if (!is_file(full)) p.problem = "image '" + full + "' does not exist";
    }
    if (!p.problem.empty()) {
      if (!o.skip_bad)
        throw_input_error(list.list_path_, ":", lineno, ": ", p.problem,
                          " (data.skip_bad skips bad lines)");
      if (first_problem.empty())
        first_problem = "line " + std::to_string(lineno) + ": " + p.problem;
      ++list.skipped_;
      continue;
    }
    list.blob_.append(p.path);
    list.offsets_.push_back(list.blob_.size());
    list.labels_.push_back(p.label);
    list.lines_.push_back(lineno);
  }
  if (in.bad()) throw_input_error("image list: reading '", list.list_path_, "' failed");
  if (list.skipped_ > 0) {
    const std::string msg = list.list_path_ + ": skipped " + std::to_string(list.skipped_) +
                            " bad line(s) of " + std::to_string(list.skipped_ + list.size()) +
                            " (data.skip_bad); first: " + first_problem;
    if (o.warn)
      o.warn(msg);
    else
      std::fprintf(stderr, "qforge: warning: %s\n", printable_line(msg).c_str());
  }
  if (list.size() == 0)
    throw_input_error(list.list_path_, ": no usable sample (", lineno, " line(s), ", list.skipped_,
                      " skipped as bad)");
  return list;
}

}  // namespace qf
