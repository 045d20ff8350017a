// Shared cases of slice (tests/op_cases.h): gradients of a channel range, of negative steps on two
// axes and of a strided rank-2 slice; the strided-copy kernel against the reference on ShuffleNet's
// channel split, strided spatial slices, a backwards walk and a 2-D block (a copy: exact).
#include "nn/ops/slice/slice_cases.h"

#include "tests/op_cases.h"

namespace qf::test {

QF_OP_CASES(slice) {
  std::vector<NamedCase> r;
  r.push_back(
      {"grad_channels", slice_case(random_tensor({2, 6, 3, 2}, 1), {1}, {5}, {1}), kGradients});
  r.push_back({"grad_negative_steps",
               slice_case(random_tensor({2, 6, 3, 3}, 2), {2, -1}, {0, 0}, {2, 3}, {-1, -2}),
               kGradients});
  r.push_back({"grad_step3", slice_case(random_tensor({3, 7}, 3), {1}, {7}, {1}, {3}), kGradients});
  std::vector<std::pair<const char*, OpCase>> fast = {
      {"channel_split", slice_case(random_tensor({3, 116, 5, 5}, 1), {58}, {116}, {1})},
      {"strided_hw", slice_case(random_tensor({3, 16, 9, 7}, 2), {1, 0}, {8, 7}, {2, 3}, {2, 1})},
      {"backwards_3d", slice_case(random_tensor({4, 10, 6}, 3), {9}, {-100}, {1}, {-3})},
      {"block_2d", slice_case(random_tensor({5, 40}, 4), {0, 3}, {5, 33})}};
  for (auto& [name, c] : fast) {
    c.fast_tol = 0;
    r.push_back({name, c, kFast});
  }
  return r;
}

}  // namespace qf::test
