// Shared cases of max_pool2d and avg_pool2d (tests/op_cases.h): padding on one side or all,
// ceil_mode, windows wider than strides, channel counts off the vector widths, count_include_pad,
// evaluation mode, and ties everywhere (the gradient goes to the first maximum of each window).
#include "nn/ops/pool2d/pool2d_cases.h"

#include "tests/op_cases.h"

namespace qf::test {
namespace {

OpCase with(OpCase c, double fast_tol, Mode mode = Mode::train, int64_t include_pad = 0) {
  c.fast_tol = fast_tol;
  c.mode = mode;
  if (include_pad) c.attrs.set("count_include_pad", include_pad);
  return c;
}

}  // namespace

QF_OP_CASES(pool2d) {
  std::vector<NamedCase> r;
  const char* mx = "max_pool2d";
  const char* av = "avg_pool2d";
  r.push_back({"max_grad_2x2", pool_case(mx, {2, 3, 5, 5}, {2, 2}, {2, 2}, {0, 0, 0, 0}, 0, 1),
               kGradients});
  r.push_back({"max_grad_ceil", pool_case(mx, {1, 2, 7, 6}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 1, 2),
               kGradients});
  r.push_back({"max_grad_asymmetric",
               pool_case(mx, {2, 2, 6, 7}, {3, 2}, {1, 2}, {0, 1, 2, 0}, 0, 3), kGradients});
  const OpCase avg_ceil = pool_case(av, {2, 3, 5, 5}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 1, 6);
  r.push_back({"avg_grad_ceil", avg_ceil, kGradients});
  r.push_back({"avg_grad_ceil_include_pad", with(avg_ceil, 1e-4, Mode::train, 1), kGradients});
  r.push_back({"avg_grad_asymmetric",
               pool_case(av, {1, 2, 6, 7}, {2, 3}, {1, 2}, {1, 0, 0, 2}, 0, 7), kGradients});
  r.push_back({"max_c64",
               with(pool_case(mx, {4, 64, 28, 28}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 0, 4), 0), kFast});
  const OpCase max70 = pool_case(mx, {2, 70, 9, 11}, {3, 2}, {2, 3}, {2, 0, 0, 1}, 1, 5);
  r.push_back({"max_c70_ceil", with(max70, 0), kFast});
  r.push_back({"max_c70_ceil_eval", with(max70, 0, Mode::eval), kFast});
  r.push_back(
      {"avg_c64", pool_case(av, {4, 64, 14, 14}, {2, 2}, {2, 2}, {0, 0, 0, 0}, 0, 8), kFast});
  const OpCase avg70 = pool_case(av, {2, 70, 9, 11}, {3, 3}, {2, 2}, {1, 2, 0, 1}, 1, 9);
  r.push_back({"avg_c70_ceil", avg70, kFast});
  r.push_back({"avg_c70_include_pad", with(avg70, 1e-4, Mode::train, 1), kFast});
  r.push_back({"avg_c70_include_pad_eval", with(avg70, 1e-4, Mode::eval, 1), kFast});
  // On every device.
  r.push_back({"max_stem", pool_case(mx, {4, 64, 28, 28}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 0, 1),
               kFast | kCuda});
  r.push_back({"max_uneven", pool_case(mx, {2, 5, 9, 10}, {3, 2}, {2, 3}, {1, 0, 2, 1}, 1, 2),
               kFast | kCuda});
  r.push_back({"avg_ceil_c70", pool_case(av, {2, 70, 9, 11}, {3, 3}, {2, 2}, {1, 2, 0, 1}, 1, 3),
               kFast | kCuda});
  r.push_back(
      {"avg_include_pad",
       with(pool_case(av, {2, 3, 5, 5}, {3, 3}, {2, 2}, {1, 1, 1, 1}, 1, 4), 1e-4, Mode::train, 1),
       kFast | kCuda});
  OpCase ties = pool_case(mx, {2, 4, 8, 8}, {3, 3}, {1, 1}, {1, 1, 1, 1}, 0, 5);
  ties.inputs[0] = Tensor::zeros({2, 4, 8, 8}, DType::f64);
  r.push_back({"max_ties_everywhere", ties, kFast | kCuda});
  return r;
}

}  // namespace qf::test
