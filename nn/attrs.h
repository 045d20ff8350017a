// Node attributes: a small typed map (ints, floats, strings and lists of them), enough for every
// op's configuration and for ONNX attributes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "nn/error.h"

namespace qf {

using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>,
                               std::vector<double>, std::vector<std::string>>;

class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<const std::string, AttrValue>> init) : map_(init) {}

  bool has(const std::string& key) const { return map_.count(key) != 0; }
  void set(const std::string& key, AttrValue v) { map_[key] = std::move(v); }
  void erase(const std::string& key) { map_.erase(key); }
  const std::map<std::string, AttrValue>& items() const { return map_; }

  int64_t get_int(const std::string& key) const { return get<int64_t>(key); }
  int64_t get_int(const std::string& key, int64_t dflt) const {
    return has(key) ? get<int64_t>(key) : dflt;
  }
  double get_float(const std::string& key) const {
    const AttrValue& v = at(key);
    if (auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
    return get<double>(key);
  }
  double get_float(const std::string& key, double dflt) const {
    return has(key) ? get_float(key) : dflt;
  }
  const std::string& get_string(const std::string& key) const { return get<std::string>(key); }
  std::string get_string(const std::string& key, const std::string& dflt) const {
    return has(key) ? get<std::string>(key) : dflt;
  }
  const std::vector<int64_t>& get_ints(const std::string& key) const {
    return get<std::vector<int64_t>>(key);
  }
  std::vector<int64_t> get_ints(const std::string& key, std::vector<int64_t> dflt) const {
    return has(key) ? get<std::vector<int64_t>>(key) : dflt;
  }
  const std::vector<double>& get_floats(const std::string& key) const {
    return get<std::vector<double>>(key);
  }

 private:
  const AttrValue& at(const std::string& key) const {
    auto it = map_.find(key);
    QF_CHECK(it != map_.end(), "missing attribute '", key, "'");
    return it->second;
  }
  template <class T>
  const T& get(const std::string& key) const {
    const T* p = std::get_if<T>(&at(key));
    QF_CHECK(p, "attribute '", key, "' has another type");
    return *p;
  }
  std::map<std::string, AttrValue> map_;
};

}  // namespace qf
