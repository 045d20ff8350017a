// Shared cases of conv2d (tests/op_cases.h): dense, pointwise, depthwise, grouped with dilation,
// strided, asymmetric padding (cuDNN runs those on an explicitly padded input), the MobileNet stem
// (C = 3), and evaluation mode.
#include "nn/ops/conv2d/conv2d_cases.h"

#include "tests/op_cases.h"

namespace qf::test {

QF_OP_CASES(conv2d) {
  std::vector<NamedCase> r;
  r.push_back({"grad_plain",
               conv_case({2, 3, 5, 5}, {4, 3, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 1),
               kGradients});
  r.push_back({"grad_stride_asymmetric_pad",
               conv_case({2, 2, 6, 7}, {3, 2, 3, 2}, false, {2, 3}, {0, 1, 1, 0}, {1, 1}, 1, 2),
               kGradients});
  r.push_back({"grad_dilation_groups",
               conv_case({1, 4, 7, 7}, {6, 2, 3, 3}, true, {1, 1}, {2, 2, 2, 2}, {2, 2}, 2, 3),
               kGradients});
  r.push_back({"grad_depthwise",
               conv_case({2, 3, 5, 5}, {3, 1, 3, 3}, false, {2, 2}, {1, 1, 1, 1}, {1, 1}, 3, 4),
               kGradients});
  r.push_back({"dense_3x3",
               conv_case({4, 16, 14, 14}, {32, 16, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 5),
               kFast});
  r.push_back(
      {"pointwise",
       conv_case({4, 32, 14, 14}, {64, 32, 1, 1}, false, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, 6),
       kFast});
  r.push_back({"depthwise_strided",
               conv_case({3, 32, 9, 9}, {32, 1, 3, 3}, false, {2, 2}, {1, 1, 1, 1}, {1, 1}, 32, 7),
               kFast});
  r.push_back({"stem",
               conv_case({2, 3, 28, 28}, {8, 3, 3, 3}, false, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1, 8),
               kFast});
  r.push_back({"grouped_dilated",
               conv_case({2, 8, 10, 11}, {12, 4, 3, 2}, true, {2, 1}, {0, 1, 2, 0}, {2, 1}, 2, 9),
               kFast});
  r.push_back(
      {"eval",
       conv_case({2, 8, 7, 7}, {8, 8, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 10, Mode::eval),
       kFast});
  // The GPU's paths: the KRSC weight copy, no copy (1x1, depthwise), bias, explicit padding.
  r.push_back({"dense_3x3_bias",
               conv_case({4, 16, 14, 14}, {32, 16, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 1),
               kFast | kCuda});
  r.push_back(
      {"pointwise_no_bias",
       conv_case({4, 32, 14, 14}, {64, 32, 1, 1}, false, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1, 2),
       kFast | kCuda});
  r.push_back({"depthwise_stride2",
               conv_case({3, 32, 9, 9}, {32, 1, 3, 3}, false, {2, 2}, {1, 1, 1, 1}, {1, 1}, 32, 3),
               kFast | kCuda});
  r.push_back({"grouped_dilated_strided",
               conv_case({2, 8, 10, 11}, {12, 4, 3, 2}, true, {2, 1}, {1, 0, 1, 0}, {2, 1}, 2, 4),
               kFast | kCuda});
  r.push_back({"asymmetric_pads",
               conv_case({2, 6, 9, 8}, {5, 6, 3, 3}, true, {2, 2}, {0, 1, 1, 0}, {1, 1}, 1, 5),
               kFast | kCuda});
  r.push_back({"stem_c3",
               conv_case({2, 3, 28, 28}, {8, 3, 3, 3}, false, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1, 6),
               kFast | kCuda});
  r.push_back(
      {"eval_bias",
       conv_case({2, 8, 7, 7}, {8, 8, 3, 3}, true, {1, 1}, {1, 1, 1, 1}, {1, 1}, 1, 7, Mode::eval),
       kFast | kCuda});
  return r;
}

}  // namespace qf::test
