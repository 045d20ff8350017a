#include "launch/lib/config_schema.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nn/error.h"

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

void check_allowed(const std::string& v, const std::vector<std::string>& allowed) {
  if (allowed.empty()) return;
  for (const auto& a : allowed)
    if (a == v) return;
  throw std::string("is not allowed (allowed: " + join(allowed) + ")");
}

}  // namespace

ConfigSchema::Entry& ConfigSchema::entry(const std::string& key, const std::string& source) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    std::vector<std::string> ks = keys();
    throw_input_error("unknown config key '", key, "' (", source, "); valid keys: ", join(ks));
  }
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
  std::ifstream in(path);
  if (!in) throw_input_error("config file '", path, "' cannot be opened");
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

std::vector<std::string> ConfigSchema::parse_args(const std::vector<std::string>& args) {
  for (const std::string& a : args)
    if (a == "--help" || a == "-h") {
      std::printf("options (every key can also be set in the --config INI file):\n%s", help().c_str());
      std::exit(0);
    }
  po::options_description desc;
  for (const auto& [k, e] : entries_) {
    if (e.kind == "true/false")
      desc.add_options()(k.c_str(), po::value<std::string>()->implicit_value("true"), "");
    else
      desc.add_options()(k.c_str(), po::value<std::string>(), "");
  }
  for (const auto& [a, k] : aliases_) {
    if (entries_.at(k).kind == "true/false")
      desc.add_options()(a.c_str(), po::value<std::string>()->implicit_value("true"), "");
    else
      desc.add_options()(a.c_str(), po::value<std::string>(), "");
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
          std::string name = tok.substr(tok.find_first_not_of('-'));
          name = name.substr(0, name.find('='));
          std::vector<std::string> ks = keys();
          for (const auto& [a, k] : aliases_) ks.push_back(a);
          throw_input_error("unknown option '--", name, "'; valid options: --config, --",
                            join(ks, ", --"));
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
  for (const auto& [k, e] : entries_)
    os << "  --" << k << " (" << e.kind << ", default " << e.show() << ")  " << e.help << "\n";
  for (const auto& [a, k] : aliases_) os << "  --" << a << "  same as --" << k << "\n";
  return os.str();
}

}  // namespace qf
