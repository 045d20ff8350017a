// Shared cases of add and mul (tests/op_cases.h): every broadcast the layout rule allows — equal
// shapes, squeeze-excitation, per channel (rank 4 and 3), scalar, row-major rank 3 against
// channels-last, general — and shapes that take each of the fast kernels' strategies (chunked,
// partial sums, owner split) and the CUDA kernels' long per-channel sums.
#include "nn/ops/elementwise/elementwise_cases.h"
#include "tests/op_cases.h"

namespace qf::test {
namespace {

struct Pair {
  const char* name;
  Shape a, b;
};

const Pair kSmall[] = {
    {"equal", {2, 3, 4, 5}, {2, 3, 4, 5}},           {"se", {2, 3, 4, 5}, {2, 3, 1, 1}},
    {"se_swapped", {2, 3, 1, 1}, {2, 3, 4, 5}},      {"per_channel", {2, 3, 4, 5}, {1, 3, 1, 1}},
    {"per_channel_rank3", {2, 3, 4, 5}, {3, 1, 1}},  {"scalar", {2, 3, 4, 5}, {}},
    {"rank3_against_nhwc", {2, 3, 4, 5}, {3, 4, 5}}, {"general", {2, 3, 4, 5}, {1, 3, 4, 1}},
    {"rank3_both_ways", {2, 1, 4}, {3, 1}},          {"rank1_against_rank2", {4}, {3, 1}},
};

const Pair kLarge[] = {
    {"equal_chunked", {8, 32, 28, 28}, {8, 32, 28, 28}},
    {"se_partial_sums", {16, 64, 14, 14}, {16, 64, 1, 1}},
    {"se_owner_samples", {64, 512, 7, 7}, {64, 512, 1, 1}},
    {"per_channel", {8, 64, 28, 28}, {64, 1, 1}},
    {"per_channel_owner", {4, 20000, 1, 2}, {20000, 1, 1}},
    {"scalar", {8, 32, 28, 28}, {1}},
    {"over_samples_partial", {4, 8, 16, 16}, {1, 8, 16, 16}},
    {"over_samples_owner", {4, 32, 32, 32}, {1, 32, 32, 32}},
    {"rank3_transposed_walk", {3, 16, 20, 20}, {16, 20, 20}},
    {"general_rank3", {2, 5, 300, 70}, {5, 1, 70}},
};

const Pair kDevice[] = {
    {"same_shape", {4, 16, 7, 7}, {4, 16, 7, 7}},
    {"squeeze_excitation", {4, 16, 7, 7}, {4, 16, 1, 1}},
    {"per_channel_rank3", {4, 16, 7, 7}, {16, 1, 1}},
    {"long_per_channel_sums", {2, 64, 40, 40}, {64, 1, 1}},
    {"rank2_with_rank1", {3, 5}, {5}},
    {"both_broadcast", {2, 1, 4}, {3, 1}},
    {"scalar_tensor", {4, 8, 3, 3}, {1}},
};

}  // namespace

QF_OP_CASES(elementwise) {
  std::vector<NamedCase> r;
  for (const std::string op : {"add", "mul"}) {
    uint64_t seed = 1;
    for (const Pair& p : kSmall)
      r.push_back({op + "_grad_" + p.name, bin_case(op.c_str(), p.a, p.b, 1), kGradients});
    for (const Pair& p : kLarge) {
      r.push_back({op + "_" + p.name, bin_case(op.c_str(), p.a, p.b, 2), kFast});
      r.push_back({op + "_" + p.name + "_swapped", bin_case(op.c_str(), p.b, p.a, 3), kFast});
    }
    for (const Pair& p : kDevice)
      r.push_back(
          {op + "_device_" + p.name, bin_case(op.c_str(), p.a, p.b, seed++), kFast | kCuda});
  }
  return r;
}

}  // namespace qf::test
