// Shared cases of transpose (tests/op_cases.h): gradients of channels-last, rank-3 and rank-5
// permutations; the strided-copy kernel against the reference on the permutations ShuffleNet and
// imported models use (a permutation: exact).
#include "nn/ops/transpose/transpose_cases.h"

#include "tests/op_cases.h"

namespace qf::test {

QF_OP_CASES(transpose) {
  std::vector<NamedCase> r;
  r.push_back({"grad_4d_to_nhwc", transpose_case(random_tensor({2, 3, 2, 4}, 1), {0, 2, 3, 1}),
               kGradients});
  r.push_back({"grad_3d", transpose_case(random_tensor({2, 3, 4}, 2), {1, 2, 0}), kGradients});
  r.push_back({"grad_5d_shuffle",
               transpose_case(random_tensor({2, 2, 3, 2, 2}, 3), {0, 2, 1, 3, 4}), kGradients});
  const std::vector<std::pair<const char*, std::pair<Shape, std::vector<int64_t>>>> fast = {
      {"4d_swap_hw", {{3, 8, 5, 7}, {0, 1, 3, 2}}},
      {"4d_to_nhwc", {{3, 8, 5, 7}, {0, 2, 3, 1}}},
      {"5d_shuffle", {{2, 4, 6, 9, 5}, {0, 2, 1, 3, 4}}},
      {"2d_matrix", {{64, 300}, {1, 0}}},
      {"4d_reversed_ones", {{1, 1, 7, 1}, {3, 2, 1, 0}}}};
  for (const auto& [name, sp] : fast) {
    OpCase c = transpose_case(random_tensor(sp.first, 4), sp.second);
    c.fast_tol = 0;
    r.push_back({name, c, kFast});
  }
  return r;
}

}  // namespace qf::test
