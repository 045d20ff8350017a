// Transforms: what a dataset does to a decoded sample before handing it to the loader.
//
// Normalize maps a raw 8-bit value x of channel c to (x - mean[c]) / std[c]. One value in `mean`
// or `std` applies to every channel; otherwise there is one value per channel. The default is the
// PaddleSlim tutorials' MNIST / Fashion-MNIST normalization (x - 127.5) / 127.5, which maps
// [0, 255] onto [-1, 1]. Because the inputs are bytes, a dataset applies it through a 256-entry
// table per channel (normalize_table), computed once, so every sample costs one lookup per value
// and the result is bit-identical to the formula evaluated in float.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "nn/error.h"

namespace qf {

struct Normalize {
  std::vector<float> mean{127.5f};
  std::vector<float> std{127.5f};

  // Throws InputError naming `where` (e.g. "MNIST normalize") unless mean and std each hold one
  // value or `channels` values, and every std is finite and non-zero and every mean finite.
  void validate(int channels, const std::string& where) const {
    auto check_count = [&](const std::vector<float>& v, const char* key) {
      if (v.size() != 1 && v.size() != static_cast<size_t>(channels))
        throw_input_error(where, ": ", key, " has ", v.size(), " values (allowed: 1, or one per ",
                          "channel = ", channels, ")");
    };
    check_count(mean, "mean");
    check_count(std, "std");
    for (float m : mean)
      if (!std::isfinite(m)) throw_input_error(where, ": mean ", m, " is not a finite number");
    for (float s : std)
      if (!std::isfinite(s) || s == 0.f)
        throw_input_error(where, ": std ", s, " is not allowed (a finite, non-zero number)");
  }

  float mean_of(int channel) const { return mean.size() == 1 ? mean[0] : mean[channel]; }
  float std_of(int channel) const { return std.size() == 1 ? std[0] : std[channel]; }
  float apply(float x, int channel) const { return (x - mean_of(channel)) / std_of(channel); }
};

// The normalized value of every byte for one channel: table[x] = norm.apply(x, channel).
using ByteTable = std::array<float, 256>;

inline ByteTable normalize_table(const Normalize& norm, int channel) {
  ByteTable table;
  for (int x = 0; x < 256; ++x) table[x] = norm.apply(static_cast<float>(x), channel);
  return table;
}

}  // namespace qf
