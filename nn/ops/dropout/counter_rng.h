// Counter-based random numbers: a random value is a pure function of (seed, step, stream, index),
// so any thread — or a CUDA thread — can compute element i's value without shared generator
// state. That makes random masks reproducible on resume and independent of the thread count.
//
//   mix(z)                  = fin(z + G), G = 0x9e3779b97f4a7c15, fin = splitmix64's finaliser
//                             (Steele, Lea, Flood 2014)
//   key(seed, step, stream) = mix(mix(mix(seed) ^ step) ^ stream)
//   bits(key, i)            = mix(key + i * G)   (splitmix64's output number i from state `key`)
//   bernoulli: element i is kept when bits(key, i) >> 40 (24 bits) >= ceil(p * 2^24), i.e. with
//              probability 1 - p (the comparison is integer, so every device agrees exactly).
//
// `stream` separates independent consumers in one step (a hash of the node name: stream_of_name).
// Everything here is plain integer arithmetic on uint64_t, valid in host and device code.
#pragma once

#include <cstdint>
#include <string_view>

#include "nn/kernels/host_device.h"

namespace qf {

QF_HOST_DEVICE inline uint64_t rng_mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

QF_HOST_DEVICE inline uint64_t rng_key(uint64_t seed, uint64_t step, uint64_t stream) {
  return rng_mix(rng_mix(rng_mix(seed) ^ step) ^ stream);
}

// 64 random bits for element `index` of the stream `key`.
QF_HOST_DEVICE inline uint64_t rng_bits(uint64_t key, uint64_t index) {
  return rng_mix(key + index * 0x9e3779b97f4a7c15ULL);
}

// A uniform number in [0, 1) with 24 random bits (exact in float).
QF_HOST_DEVICE inline float rng_uniform(uint64_t key, uint64_t index) {
  return static_cast<float>(rng_bits(key, index) >> 40) * (1.0f / 16777216.0f);
}

// The 24-bit threshold for "drop with probability p", p in [0, 1).
inline uint32_t rng_drop_threshold(double p) {
  const double t = p * 16777216.0;
  const uint32_t ti = static_cast<uint32_t>(t);
  return static_cast<double>(ti) < t ? ti + 1 : ti;  // ceil, without <cmath> on the device
}

// True when element `index` is kept (see rng_drop_threshold).
QF_HOST_DEVICE inline bool rng_keep(uint64_t key, uint64_t index, uint32_t threshold) {
  return static_cast<uint32_t>(rng_bits(key, index) >> 40) >= threshold;
}

// FNV-1a of a name: the stream id of a graph node.
inline uint64_t stream_of_name(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char ch : name) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace qf
