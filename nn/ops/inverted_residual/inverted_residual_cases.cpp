// Shared cases of inverted_residual (tests/op_cases.h; an inference-only op, so the CPU's strip
// kernel against the reference: three reference convolutions in turn). They cover the plans the
// kernel makes on 2 threads — several strips per image taken whole by each thread, one strip per
// image per thread, and images in turn with every thread in each primitive — at stride 1 with a
// residual and stride 2 without, 3x3 and 5x5 depthwise, odd sizes and absent biases.
#include "nn/ops/inverted_residual/inverted_residual_cases.h"

#include "tests/op_cases.h"

namespace qf::test {

QF_OP_CASES(inverted_residual) {
  std::vector<NamedCase> r;
  auto add = [&](const std::string& name, const IrBlock& b, uint64_t seed) {
    r.push_back({name, inverted_residual_case(b, seed), kFast});
  };
  add("images_in_turn", {{3, 8, 20, 20}, 48, 8, 3, 1, true, true, "relu6"}, 10);
  add("strips_per_thread", {{2, 16, 64, 64}, 320, 16, 3, 1, true, true, "relu6"}, 20);
  add("one_image_one_strip", {{1, 16, 64, 64}, 320, 24, 3, 2, true, false, "hardswish"}, 30);
  add("k5_odd_no_bias", {{4, 8, 21, 21}, 40, 12, 5, 2, false, false, "clip"}, 40);
  add("last_strip_shorter", {{3, 24, 57, 57}, 288, 32, 3, 2, true, false, "relu"}, 50);
  return r;
}

}  // namespace qf::test
