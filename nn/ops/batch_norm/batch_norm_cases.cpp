// Shared cases of batch_norm (tests/op_cases.h): batch and running statistics, 4-D and 2-D,
// channel counts off the vector widths, and a tall input that needs many row chunks on a GPU.
#include "nn/ops/batch_norm/batch_norm_cases.h"

#include "tests/op_cases.h"

namespace qf::test {

QF_OP_CASES(batch_norm) {
  std::vector<NamedCase> r;
  r.push_back({"grad_4d", bn_case({3, 4, 3, 2}, 0, 1), kGradients});
  r.push_back({"grad_2d", bn_case({5, 3}, 0, 2), kGradients});
  r.push_back({"grad_frozen", bn_case({2, 3, 2, 2}, 1, 3), kGradients});
  for (int64_t frozen : {0, 1}) {
    const std::string f = frozen ? "_frozen" : "";
    r.push_back({"c32" + f, bn_case({8, 32, 14, 14}, frozen, 4), kFast});
    r.push_back({"c70" + f, bn_case({4, 70, 5, 3}, frozen, 5), kFast});
    r.push_back({"c120_2d" + f, bn_case({16, 120}, frozen, 6), kFast});
  }
  r.push_back({"eval", bn_case({4, 16, 7, 7}, 0, 7, Mode::eval), kFast});
  r.push_back({"batch_stats", bn_case({8, 32, 7, 7}, 0, 1), kFast | kCuda});
  r.push_back({"c70_batch_stats", bn_case({4, 70, 5, 3}, 0, 2), kFast | kCuda});  // C % 32 != 0
  r.push_back({"c48_2d", bn_case({64, 48}, 0, 3), kFast | kCuda});
  r.push_back({"frozen_statistics", bn_case({8, 16, 6, 6}, 1, 4), kFast | kCuda});
  r.push_back({"eval_c16", bn_case({8, 16, 6, 6}, 0, 5, Mode::eval), kFast | kCuda});
  r.push_back({"many_row_chunks", bn_case({2, 8, 128, 128}, 0, 6), kFast | kCuda});
  return r;
}

}  // namespace qf::test
