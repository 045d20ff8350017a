// ConfigSchema binds dotted keys ("optimizer.lr") to fields of typed config structs, with defaults
// (the fields' initial values), allowed values and ranges. One schema serves the INI file, the
// command line (`--optimizer.lr 0.01`, or a command's short alias like `--algo KL`), the resolved
// configuration printed at start and saved beside checkpoints, and resume.
//
// Every value is validated when it is set: a bad one is an InputError naming the key, the value,
// where it came from and what is allowed. An unknown key names the closest valid ones
// (launch/lib/suggest.h).
//
// A command binds every key a config file may hold (one INI file serves train, qat, eval, ...) and
// says with set_command which of them it reads: --help lists only those, and the command line
// refuses the others (a key the command would ignore is a mistake worth one line, not a silent
// no-op). In a config file the keys of other commands are accepted and left alone.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace qf {

class ConfigSchema {
 public:
  void add(const std::string& key, std::string* field, const std::string& help,
           std::vector<std::string> allowed = {});
  void add(const std::string& key, bool* field, const std::string& help);
  void add(const std::string& key, int* field, const std::string& help, int64_t min, int64_t max);
  void add(const std::string& key, int64_t* field, const std::string& help, int64_t min,
           int64_t max);
  void add(const std::string& key, uint64_t* field, const std::string& help);
  // Range [min, max]; exclusive ends when the flags say so.
  void add(const std::string& key, double* field, const std::string& help, double min, double max,
           bool min_exclusive = false, bool max_exclusive = false);
  // Comma-separated lists. `allowed` restricts each element.
  void add(const std::string& key, std::vector<std::string>* field, const std::string& help,
           std::vector<std::string> allowed = {});
  void add(const std::string& key, std::vector<double>* field, const std::string& help);
  // One of named choices, stored as the value the name stands for (an enum, a flag): the name is
  // translated here, once, when the key is set. The configuration shows the name that was set.
  template <class T>
  void add_choice(const std::string& key, T* field, const std::string& help,
                  std::vector<std::pair<std::string, std::type_identity_t<T>>> choices) {
    std::vector<std::string> names;
    for (const auto& c : choices) names.push_back(c.first);
    add_named(
        key, help, std::move(names), [field, choices](size_t i) { *field = choices[i].second; },
        [field, choices](size_t i) { return *field == choices[i].second; });
  }
  // `--alias v` means `--key v` on the command line.
  void alias(const std::string& alias, const std::string& key);
  // A check run by validate() after everything is loaded (cross-key rules); throws InputError.
  void check(std::function<void()> rule);

  bool has(const std::string& key) const;
  // Parses and stores `value`; `source` says where it came from ("--optimizer.lr", "lenet.ini:7").
  void set(const std::string& key, const std::string& value, const std::string& source);
  std::string get(const std::string& key) const;
  bool was_set(const std::string& key) const;  // by a file or the command line
  std::vector<std::string> keys() const;

  // Loads an INI file ([section] then `key = value`; `#` and `;` comments).
  void load_ini(const std::string& path);
  // The same for INI text read from `path` (named in messages).
  void load_ini_text(const std::string& text, const std::string& path);
  // Parses `--key value`, `--key=value` and `--flag` (booleans) arguments; a `--config FILE`
  // argument is loaded first so the command line overrides it. Returns positional arguments.
  std::vector<std::string> parse_args(const std::vector<std::string>& args);
  void validate() const;

  nlohmann::json to_json() const;                // every key with its resolved value
  std::string to_ini() const;                    // the same, as an INI file
  std::string help() const;                      // one line per key read, with its aliases

  // What the command `name` reads: keys ("section.key") and whole sections ("section.*"); every
  // entry must match a bound key (else an internal error: the list went stale). `help_page`
  // writes the command's --help. Without set_command the command reads every key.
  void set_command(const std::string& name, const std::vector<std::string>& reads,
                   std::function<std::string(const ConfigSchema&)> help_page);
  bool reads(const std::string& key) const;
  struct KeyDoc {
    std::string key, kind, value, help;  // value: the current value (the default before parsing)
    std::vector<std::string> aliases;    // command-line short names for the key
  };
  std::vector<KeyDoc> key_docs() const;  // the keys read, in key order

 private:
  struct Entry {
    std::string help;
    std::string kind;                          // for messages: "a number", "true/false", ...
    std::function<void(const std::string&)> parse;  // throws std::string on a bad value
    std::function<std::string()> show;
    bool set = false;
  };
  Entry& entry(const std::string& key, const std::string& source);
  std::vector<std::string> options_read() const;  // command-line names: keys read, their aliases
  [[noreturn]] void refuse_option(const std::string& name) const;
  // add_choice without the type: set(i) stores choice i, holds(i) says whether the field holds it.
  void add_named(const std::string& key, const std::string& help, std::vector<std::string> names,
                 std::function<void(size_t)> set, std::function<bool(size_t)> holds);
  std::map<std::string, Entry> entries_;
  std::string command_;                   // set_command's name ("" until then)
  std::vector<std::string> reads_;        // set_command's list (empty: every key)
  std::function<std::string(const ConfigSchema&)> help_page_;
  std::map<std::string, std::string> aliases_;
  std::vector<std::function<void()>> checks_;
};

}  // namespace qf
