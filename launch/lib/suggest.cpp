#include "launch/lib/suggest.h"

#include <algorithm>
#include <cctype>

namespace qf {
namespace {

std::string fold(const std::string& s) {
  std::string r = s;
  for (char& c : r)
    c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

int osa_distance(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  // Row i holds the distances between a's first i characters and each prefix of b; the swap case
  // looks two rows back.
  std::vector<int> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = static_cast<int>(i);
    for (size_t j = 1; j <= m; ++j) {
      const int sub = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + sub});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

// A folded name, the part after its first dot and the part after its last dot.
std::vector<std::string> parts(const std::string& name) {
  const std::string f = fold(name);
  std::vector<std::string> p = {f};
  const auto first = f.find('.'), last = f.rfind('.');
  if (first != std::string::npos) p.push_back(f.substr(first + 1));
  if (last != std::string::npos && last != first) p.push_back(f.substr(last + 1));
  return p;
}

// "learning_rate" -> "lr"; "" for a single word.
std::string initials(const std::string& word) {
  if (word.find('_') == std::string::npos) return "";
  std::string r;
  for (size_t i = 0; i < word.size(); ++i)
    if (word[i] != '_' && (i == 0 || word[i - 1] == '_')) r += word[i];
  return r;
}

// `part` (four characters or more) begins or ends `whole`.
bool starts_or_ends_with(const std::string& whole, const std::string& part) {
  if (part.size() < 4 || part.size() > whole.size()) return false;
  return whole.compare(0, part.size(), part) == 0 ||
         whole.compare(whole.size() - part.size(), part.size(), part) == 0;
}

int limit_for(const std::string& typed) {
  return std::clamp(static_cast<int>(typed.size()) / 3, 1, 4);
}

// How far `typed` is from `candidate` (both folded parts); above limit_for(typed) means not close.
// Names whose lengths differ by more than the limit are at least that far apart, so their edit
// distance (quadratic in the lengths: a long mistyped option met every key) is not computed.
int closeness(const std::string& typed, const std::string& candidate) {
  const int limit = limit_for(typed);
  const auto length_gap = typed.size() > candidate.size() ? typed.size() - candidate.size()
                                                          : candidate.size() - typed.size();
  int d = length_gap > static_cast<size_t>(limit) ? limit + 1 : osa_distance(typed, candidate);
  if (!candidate.empty() && initials(typed) == candidate) d = std::min(d, 1);
  if (starts_or_ends_with(candidate, typed) || starts_or_ends_with(typed, candidate))
    d = std::min(d, limit);
  return d;
}

}  // namespace

int edit_distance(const std::string& a, const std::string& b) {
  return osa_distance(fold(a), fold(b));
}

std::vector<std::string> closest_names(const std::string& name,
                                       const std::vector<std::string>& candidates, size_t max) {
  const std::vector<std::string> typed = parts(name);
  std::vector<std::pair<double, size_t>> scored;  // (distance relative to the limit, index)
  for (size_t i = 0; i < candidates.size(); ++i) {
    double best = 2;
    for (const std::string& t : typed)
      for (const std::string& c : parts(candidates[i]))
        best = std::min(best, static_cast<double>(closeness(t, c)) / (limit_for(t) + 1));
    if (best < 1) scored.push_back({best, i});
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> r;
  for (const auto& [d, i] : scored) {
    if (r.size() == max) break;
    if (std::find(r.begin(), r.end(), candidates[i]) == r.end()) r.push_back(candidates[i]);
  }
  return r;
}

std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates,
                         const std::string& prefix) {
  return did_you_mean(closest_names(name, candidates), prefix);
}

std::string did_you_mean(const std::vector<std::string>& c, const std::string& prefix) {
  if (c.empty()) return "";
  std::string s = "; did you mean ";
  for (size_t i = 0; i < c.size(); ++i)
    s += (i == 0 ? "" : i + 1 == c.size() ? " or " : ", ") + prefix + c[i];
  return s + "?";
}

}  // namespace qf
