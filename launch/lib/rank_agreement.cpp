// Rank agreement (contract in launch/lib/rank_agreement.h).
#include "launch/lib/rank_agreement.h"

#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>
#include <thread>

#include "nn/error.h"

namespace qf {
namespace {

// Keys that may differ per rank: where things are on each node, and per-process settings.
const std::set<std::string>& per_rank_keys() {
  static const std::set<std::string> keys = {
      "data.root",       "data.train_list",      "data.val_list",   "run.out",
      "run.init",        "run.resume",           "run.metrics_out", "run.device",
      "run.threads",     "data.workers",         "data.prefetch",   "data.check_files",
      "data.max_idx_mb", "data.max_image_pixels"};
  return keys;
}

// Labels and values go into "label\tvalue\n" lines: tabs and newlines become spaces.
std::string clean(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

// FNV-1a, 64 bits: a layout fingerprint, not a security measure.
uint64_t fnv1a(const std::string& s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

struct NamedShape {
  std::string name;
  Shape shape;
  DType dtype;
};

std::string model_fact(const std::vector<NamedShape>& tensors) {
  uint64_t h = fnv1a("");
  int64_t values = 0;
  for (const NamedShape& t : tensors) {
    h = fnv1a(t.name + " " + shape_str(t.shape) + " " + dtype_name(t.dtype) + ";", h);
    values += numel(t.shape);
  }
  char hex[32];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return str_cat(tensors.size(), " tensors, ", values, " values, layout ", hex);
}

std::vector<std::pair<std::string, std::string>> parse(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> items;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    items.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return items;
}

// Rank 0's bytes on every rank: a length, then the bytes one per double, in max-reductions to
// which only rank 0 contributes (every other rank adds zeros).
std::string root_text(Communicator& comm, const std::string& mine) {
  double length = comm.is_root() ? static_cast<double>(mine.size()) : 0;
  comm.all_reduce_max_host(&length, 1);
  std::vector<double> bytes(static_cast<size_t>(length), 0.0);
  if (comm.is_root())
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(mine[i]);
  comm.all_reduce_max_host(bytes.data(), bytes.size());
  std::string text(bytes.size(), '\0');
  for (size_t i = 0; i < bytes.size(); ++i) text[i] = static_cast<char>(bytes[i]);
  return text;
}

}  // namespace

void RunFacts::add(const std::string& label, const std::string& value) {
  items_.emplace_back(clean(label), clean(value));
}

void RunFacts::add_config(const std::string& command, const ConfigSchema& schema) {
  add("command", command);
  for (const std::string& key : schema.keys())
    if (!per_rank_keys().count(key)) add(key, schema.get(key));
}

void RunFacts::add_model(const ParamStore& store) {
  std::vector<NamedShape> tensors;
  for (const ParamEntry* e : store.entries()) tensors.push_back({e->name, e->shape, e->dtype});
  add("model", model_fact(tensors));
}

void RunFacts::add_model(const Graph& graph) {
  std::vector<NamedShape> tensors;
  for (const Value& v : graph.values())
    if (v.kind == ValueKind::param || v.kind == ValueKind::buffer)
      tensors.push_back({v.name, v.shape, v.dtype});
  add("model", model_fact(tensors));
}

void RunFacts::add_data(const std::string& label, const Dataset& data) {
  const Shape s = data.sample_shape();
  std::string shape;
  for (size_t i = 0; i < s.size(); ++i) shape += (i ? "x" : "") + std::to_string(s[i]);
  add(label, str_cat(data.size(), " samples of ", shape, ", ", data.num_classes(), " classes"));
}

std::string RunFacts::serialize() const {
  std::string text;
  for (const auto& [label, value] : items_) text += label + "\t" + value + "\n";
  return text;
}

RunFacts training_facts(const std::string& command, const ConfigSchema& schema,
                        const ParamStore& store, const Dataset& train, const Dataset& test,
                        const TrainState* resume) {
  RunFacts f;
  f.add_config(command, schema);
  f.add_model(store);
  f.add_data("training set", train);
  f.add_data("test set", test);
  f.add("resume from", resume ? str_cat("epoch ", resume->epoch, ", batch ", resume->batch_in_epoch,
                                        ", step ", resume->global_step)
                              : std::string("none"));
  return f;
}

std::string first_difference(const std::string& mine, const std::string& root, int rank) {
  const auto a = parse(mine), b = parse(root);
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i].first != b[i].first)
      return str_cat("rank ", rank, " has '", a[i].first, "' where rank 0 has '", b[i].first,
                     "' (another command or qforge version?)");
    if (a[i].second != b[i].second)
      return str_cat("rank ", rank, " has ", a[i].first, " = ", a[i].second, ", rank 0 has ",
                     b[i].first, " = ", b[i].second);
  }
  if (a.size() != b.size())
    return str_cat("rank ", rank, " has ", a.size(), " facts about its run, rank 0 has ", b.size(),
                   " (another command or qforge version?)");
  return "";
}

void check_ranks_agree(Communicator& comm, const RunFacts& mine, double timeout_s) {
  if (comm.size() == 1) return;
  const std::string text = mine.serialize();
  const std::string difference = first_difference(text, root_text(comm, text), comm.rank());
  std::vector<double> differs(static_cast<size_t>(comm.size()), 0.0);
  differs[static_cast<size_t>(comm.rank())] = difference.empty() ? 0 : 1;
  comm.all_reduce_max_host(differs.data(), differs.size());
  int first = -1, count = 0;
  for (int r = 0; r < comm.size(); ++r)
    if (differs[static_cast<size_t>(r)] > 0) {
      if (first < 0) first = r;
      ++count;
    }
  if (first < 0) return;
  if (first == comm.rank())
    throw_input_error("ranks disagree: ", difference, " (", count, " of ", comm.size(),
                      " ranks differ from rank 0; every rank must run the same command, "
                      "configuration, model and data)");
  // Rank `first` reports and ends the job; give it the time to, then end it regardless.
  std::this_thread::sleep_for(std::chrono::duration<double>(timeout_s > 0 ? timeout_s : 60));
  comm.abort(2);
}

}  // namespace qf
