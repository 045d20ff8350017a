// Per-sample seeds.
//
// sample_seed(run_seed, epoch, index) feeds the three inputs one after another through the
// splitmix64 finalizer (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
// 2014; the mixer Java's SplittableRandom and xoshiro's seeding use):
//
//   h = mix(run_seed);  h = mix(h ^ epoch);  h = mix(h ^ index)
//   mix(x) = z ^ (z >> 31) with z = x + 0x9e3779b97f4a7c15 passed through two xor-shift-multiply
//            rounds (>> 30, * 0xbf58476d1ce4e5b9; >> 27, * 0x94d049bb133111eb)
//
// mix is a bijection of 64-bit words with full avalanche (each input bit flips each output bit
// with probability ~1/2), so neighbouring indices, epochs and seeds give unrelated generator
// states, and the order of the arguments matters (seed 1 epoch 0 differs from seed 0 epoch 1).
// The result depends only on the three numbers: never on the thread, the rank or the platform.
#include "data/dataset.h"

namespace qf {

namespace {

uint64_t splitmix64_mix(uint64_t x) {
  uint64_t z = x + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t sample_seed(uint64_t run_seed, int64_t epoch, int64_t index) {
  uint64_t h = splitmix64_mix(run_seed);
  h = splitmix64_mix(h ^ static_cast<uint64_t>(epoch));
  return splitmix64_mix(h ^ static_cast<uint64_t>(index));
}

}  // namespace qf
