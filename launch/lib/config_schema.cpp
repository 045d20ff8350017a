#include "launch/lib/config_schema.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "launch/lib/suggest.h"
#include "nn/error.h"
#include "nn/input_file.h"

namespace qf {
namespace po = boost::program_options;

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> r;
  std::string t = trim(s);
  if (t.size() >= 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
  std::stringstream ss(t);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item = trim(item);
    if (item.size() >= 2 && (item.front() == '\'' || item.front() == '"')) item = item.substr(1, item.size() - 2);
    if (!item.empty()) r.push_back(item);
  }
  return r;
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i) r += (i ? sep : "") + v[i];
  return r;
}

std::string fmt_double(double v) {
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

double parse_double(const std::string& s) {
  size_t pos = 0;
  double v;
  try {
    v = std::stod(s, &pos);
  } catch (...) {
    throw std::string("is not a number");
  }
  if (pos != s.size() || !std::isfinite(v)) throw std::string("is not a number");
  return v;
}

int64_t parse_int(const std::string& s) {
  size_t pos = 0;
  long long v;
  try {
    v = std::stoll(s, &pos);
  } catch (...) {
    throw std::string("is not an integer");
  }
  if (pos != s.size()) throw std::string("is not an integer");
  return v;
}

bool parse_bool(const std::string& s) {
  if (s == "true" || s == "1" || s == "yes" || s == "on" || s == "True") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off" || s == "False") return false;
  throw std::string("is not a boolean (allowed: true, false)");
}

// `pattern` is a key ("optimizer.lr") or a section ("optimizer.*").
bool key_matches(const std::string& key, const std::string& pattern) {
  if (pattern.size() > 2 && pattern.compare(pattern.size() - 2, 2, ".*") == 0)
    return key.rfind(pattern.substr(0, pattern.size() - 1), 0) == 0;
  return key == pattern;
}

void check_allowed(const std::string& v, const std::vector<std::string>& allowed) {
  if (allowed.empty()) return;
  for (const auto& a : allowed)
    if (a == v) return;
  throw std::string("is not allowed (allowed: " + join(allowed) + ")");
}

}  // namespace

ConfigSchema::Entry& ConfigSchema::entry(const std::string& key, const std::string& source) {
  auto it = entries_.find(key);
  if (it == entries_.end())
    throw_input_error("unknown config key '", key, "' (", source, ")", did_you_mean(key, keys()),
                      command_.empty() ? "" : " (`qforge help " + command_ + "` lists the keys)");
  return it->second;
}

void ConfigSchema::add(const std::string& key, std::string* f, const std::string& help,
                       std::vector<std::string> allowed) {
  const std::string kind = allowed.empty() ? "a string" : "one of " + join(allowed);
  entries_[key] = {help, kind,
                   [f, allowed](const std::string& v) {
                     check_allowed(v, allowed);
                     *f = v;
                   },
                   [f] { return *f; }};
  if (!allowed.empty() && !f->empty()) check_allowed(*f, allowed);
}

void ConfigSchema::add_named(const std::string& key, const std::string& help,
                             std::vector<std::string> names, std::function<void(size_t)> set,
                             std::function<bool(size_t)> holds) {
  // The name last set, shown while the field still holds its value (two names may share one).
  auto last = std::make_shared<size_t>(names.size());
  entries_[key] = {
      help, "one of " + join(names),
      [names, set, last](const std::string& v) {
        check_allowed(v, names);
        *last = static_cast<size_t>(std::find(names.begin(), names.end(), v) - names.begin());
        set(*last);
      },
      [names, holds, last] {
        if (*last < names.size() && holds(*last)) return names[*last];
        for (size_t i = 0; i < names.size(); ++i)
          if (holds(i)) return names[i];
        return std::string("?");
      }};
}

void ConfigSchema::add(const std::string& key, bool* f, const std::string& help) {
  entries_[key] = {help, "true/false", [f](const std::string& v) { *f = parse_bool(v); },
                   [f] { return std::string(*f ? "true" : "false"); }};
}

void ConfigSchema::add(const std::string& key, int* f, const std::string& help, int64_t min,
                       int64_t max) {
  entries_[key] = {help, "an integer",
                   [f, min, max](const std::string& v) {
                     const int64_t x = parse_int(v);
                     if (x < min || x > max)
                       throw "is out of range (allowed: " + std::to_string(min) + " to " +
                           std::to_string(max) + ")";
                     *f = static_cast<int>(x);
                   },
                   [f] { return std::to_string(*f); }};
}

void ConfigSchema::add(const std::string& key, int64_t* f, const std::string& help, int64_t min,
                       int64_t max) {
  entries_[key] = {help, "an integer",
                   [f, min, max](const std::string& v) {
                     const int64_t x = parse_int(v);
                     if (x < min || x > max)
                       throw "is out of range (allowed: " + std::to_string(min) + " to " +
                           std::to_string(max) + ")";
                     *f = x;
                   },
                   [f] { return std::to_string(*f); }};
}

void ConfigSchema::add(const std::string& key, uint64_t* f, const std::string& help) {
  entries_[key] = {help, "a non-negative integer",
                   [f](const std::string& v) {
                     const int64_t x = parse_int(v);
                     if (x < 0) throw std::string("must be >= 0");
                     *f = static_cast<uint64_t>(x);
                   },
                   [f] { return std::to_string(*f); }};
}

void ConfigSchema::add(const std::string& key, double* f, const std::string& help, double min,
                       double max, bool min_ex, bool max_ex) {
  entries_[key] = {help, "a number",
                   [=](const std::string& v) {
                     const double x = parse_double(v);
                     const bool lo = min_ex ? x > min : x >= min;
                     const bool hi = max_ex ? x < max : x <= max;
                     if (!lo || !hi)
                       throw "is out of range (allowed: " + std::string(min_ex ? "(" : "[") +
                           fmt_double(min) + ", " +
                           (max == std::numeric_limits<double>::infinity() ? "inf"
                                                                           : fmt_double(max)) +
                           (max_ex ? ")" : "]") + ")";
                     *f = x;
                   },
                   [f] { return fmt_double(*f); }};
}

void ConfigSchema::add(const std::string& key, std::vector<std::string>* f,
                       const std::string& help, std::vector<std::string> allowed) {
  entries_[key] = {help, allowed.empty() ? "a comma-separated list" : "a list of " + join(allowed),
                   [f, allowed](const std::string& v) {
                     std::vector<std::string> items = split_list(v);
                     for (const auto& i : items) {
                       try {
                         check_allowed(i, allowed);
                       } catch (const std::string& e) {
                         throw "has element '" + i + "' that " + e;
                       }
                     }
                     *f = items;
                   },
                   [f] { return join(*f, ","); }};
}

void ConfigSchema::add(const std::string& key, std::vector<double>* f, const std::string& help) {
  entries_[key] = {help, "a comma-separated list of numbers",
                   [f](const std::string& v) {
                     std::vector<double> r;
                     for (const auto& i : split_list(v)) r.push_back(parse_double(i));
                     *f = r;
                   },
                   [f] {
                     std::vector<std::string> s;
                     for (double d : *f) s.push_back(fmt_double(d));
                     return join(s, ",");
                   }};
}

void ConfigSchema::alias(const std::string& a, const std::string& key) {
  QF_CHECK(entries_.count(key), "alias of unknown key ", key);
  aliases_[a] = key;
}

void ConfigSchema::check(std::function<void()> rule) { checks_.push_back(std::move(rule)); }

bool ConfigSchema::has(const std::string& key) const { return entries_.count(key) != 0; }

void ConfigSchema::set(const std::string& key, const std::string& value,
                       const std::string& source) {
  Entry& e = entry(key, source);
  try {
    e.parse(trim(value));
  } catch (const std::string& why) {
    throw_input_error(key, ": '", trim(value), "' ", why, " (from ", source, ")");
  }
  e.set = true;
}

std::string ConfigSchema::get(const std::string& key) const {
  auto it = entries_.find(key);
  QF_CHECK(it != entries_.end(), "unknown key ", key);
  return it->second.show();
}

bool ConfigSchema::was_set(const std::string& key) const {
  auto it = entries_.find(key);
  return it != entries_.end() && it->second.set;
}

std::vector<std::string> ConfigSchema::keys() const {
  std::vector<std::string> r;
  for (const auto& [k, e] : entries_) r.push_back(k);
  return r;
}

void ConfigSchema::load_ini(const std::string& path) {
  // A config is a page of text; 1 MiB is far beyond any.
  load_ini_text(read_input_file(path, "config file", 1 << 20), path);
}

void ConfigSchema::load_ini_text(const std::string& text, const std::string& path) {
  std::istringstream in(text);
  std::string line, section;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string where = path + ":" + std::to_string(lineno);
    std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[') {
      if (t.back() != ']') throw_input_error(where, ": malformed section header '", t, "'");
      section = trim(t.substr(1, t.size() - 2));
      continue;
    }
    const auto eq = t.find('=');
    if (eq == std::string::npos)
      throw_input_error(where, ": expected 'key = value', got '", t, "'");
    std::string key = trim(t.substr(0, eq));
    std::string value = trim(t.substr(eq + 1));
    const auto hash = value.find(" #");
    if (hash != std::string::npos) value = trim(value.substr(0, hash));
    if (!section.empty()) key = section + "." + key;
    set(key, value, where);
  }
}

std::vector<std::string> ConfigSchema::options_read() const {
  std::vector<std::string> r;
  for (const auto& [k, e] : entries_)
    if (reads(k)) r.push_back(k);
  for (const auto& [a, k] : aliases_)
    if (reads(k)) r.push_back(a);
  return r;
}

void ConfigSchema::refuse_option(const std::string& name) const {
  const std::string see = command_.empty() ? "--help" : "`qforge help " + command_ + "`";
  auto key_of = [&](const std::string& n) {
    auto a = aliases_.find(n);
    return a == aliases_.end() ? n : a->second;
  };
  std::vector<std::string> options = options_read();
  options.push_back("config");
  options.push_back("help");
  // The closest names, one per key (an alias and its key are the same suggestion).
  std::vector<std::string> close, keys_named;
  for (const std::string& n : closest_names(name, options, 6)) {
    if (std::find(keys_named.begin(), keys_named.end(), key_of(n)) != keys_named.end()) continue;
    keys_named.push_back(key_of(n));
    if (close.size() < 3) close.push_back(n);
  }
  const std::string key = key_of(name);
  if (entries_.count(key))  // a key of another command
    throw_input_error("--", name, (key == name ? "" : " (--" + key + ")"), " is not read by ",
                      command_.empty() ? "this command" : "qforge " + command_,
                      did_you_mean(close, "--"), "; ", see, " lists what it reads");
  throw_input_error("unknown option '--", name, "'", did_you_mean(close, "--"), "; ", see,
                    " lists the options");
}

std::vector<std::string> ConfigSchema::parse_args(const std::vector<std::string>& args) {
  for (const std::string& a : args)
    if (a == "--help" || a == "-h") {
      const std::string page = help_page_ ? help_page_(*this)
                                          : "options (every key can also be set in the --config "
                                            "INI file):\n" + help();
      std::fputs(page.c_str(), stdout);
      std::exit(0);
    }
  // Only what the command reads is registered: anything else comes back unregistered and is
  // refused by name (refuse_option).
  po::options_description desc;
  for (const std::string& name : options_read()) {
    auto a = aliases_.find(name);
    const Entry& e = entries_.at(a == aliases_.end() ? name : a->second);
    if (e.kind == "true/false")
      desc.add_options()(name.c_str(), po::value<std::string>()->implicit_value("true"), "");
    else
      desc.add_options()(name.c_str(), po::value<std::string>(), "");
  }
  desc.add_options()("config", po::value<std::string>(), "");
  po::parsed_options parsed = [&] {
    try {
      return po::command_line_parser(args)
          .options(desc)
          .allow_unregistered()
          .style(po::command_line_style::unix_style ^ po::command_line_style::allow_guessing)
          .run();
    } catch (const po::error& e) {
      throw_input_error("command line: ", e.what());
    }
  }();
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> sets;
  for (const po::option& o : parsed.options) {
    if (o.unregistered || o.position_key >= 0) {
      for (const std::string& tok : o.original_tokens) {
        if (tok.rfind("-", 0) == 0 && tok.size() > 1) {
          const size_t dashes = std::min(tok.find_first_not_of('-'), tok.size());
          const std::string name = tok.substr(dashes);
          refuse_option(name.substr(0, name.find('=')));
        }
        positional.push_back(tok);
      }
      continue;
    }
    std::string value = o.value.empty() ? "" : o.value[0];
    if (o.value.empty()) {  // `--flag` alone: booleans mean true, everything else needs a value
      auto a = aliases_.find(o.string_key);
      const std::string key = a == aliases_.end() ? o.string_key : a->second;
      auto e = entries_.find(key);
      if (e == entries_.end() || e->second.kind != "true/false")
        throw_input_error("--", o.string_key, " needs a value");
      value = "true";
    }
    if (o.string_key == "config") {
      load_ini(value);
      continue;
    }
    sets.push_back({o.string_key, value});
  }
  for (const auto& [k, v] : sets) {
    auto a = aliases_.find(k);
    set(a == aliases_.end() ? k : a->second, v, "--" + k);
  }
  return positional;
}

void ConfigSchema::validate() const {
  for (const auto& rule : checks_) rule();
}

nlohmann::json ConfigSchema::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, e] : entries_) j[k] = e.show();
  return j;
}

std::string ConfigSchema::to_ini() const {
  std::ostringstream os;
  std::string section;
  for (const auto& [k, e] : entries_) {
    const auto dot = k.find('.');
    const std::string s = dot == std::string::npos ? "" : k.substr(0, dot);
    const std::string name = dot == std::string::npos ? k : k.substr(dot + 1);
    if (s != section) {
      os << (section.empty() ? "" : "\n") << "[" << s << "]\n";
      section = s;
    }
    os << name << " = " << e.show() << "\n";
  }
  return os.str();
}

std::string ConfigSchema::help() const {
  std::ostringstream os;
  for (const KeyDoc& k : key_docs()) {
    os << "  --" << k.key;
    for (const std::string& a : k.aliases) os << " (alias --" << a << ")";
    os << " (" << k.kind << ", default " << k.value << ")  " << k.help << "\n";
  }
  return os.str();
}

void ConfigSchema::set_command(const std::string& name, const std::vector<std::string>& reads,
                               std::function<std::string(const ConfigSchema&)> help_page) {
  command_ = name;
  reads_ = reads;
  help_page_ = std::move(help_page);
  for (const std::string& r : reads_) {
    const bool matches = std::any_of(entries_.begin(), entries_.end(),
                                     [&](const auto& kv) { return key_matches(kv.first, r); });
    QF_CHECK(matches, "qforge ", name, " reads '", r, "', which no bound key matches");
  }
}

bool ConfigSchema::reads(const std::string& key) const {
  if (reads_.empty()) return true;
  return std::any_of(reads_.begin(), reads_.end(),
                     [&](const std::string& r) { return key_matches(key, r); });
}

std::vector<ConfigSchema::KeyDoc> ConfigSchema::key_docs() const {
  std::vector<KeyDoc> r;
  for (const auto& [k, e] : entries_) {
    if (!reads(k)) continue;
    KeyDoc d{k, e.kind, e.show(), e.help, {}};
    for (const auto& [a, target] : aliases_)
      if (target == k) d.aliases.push_back(a);
    r.push_back(std::move(d));
  }
  return r;
}

}  // namespace qf
