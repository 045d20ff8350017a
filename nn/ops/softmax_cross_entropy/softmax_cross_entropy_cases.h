// softmax_cross_entropy test inputs, shared by its _cases.cpp and _test.cpp.
#pragma once

#include "tests/op_check.h"

namespace qf::test {

inline Tensor labels_of(const std::vector<int32_t>& v) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i32);
  for (size_t i = 0; i < v.size(); ++i) t.data<int32_t>()[i] = v[i];
  return t;
}

// n rows of k logits in [-3, 3], labels spread over the classes, label smoothing eps.
inline OpCase xent_case(int64_t n, int64_t k, double eps, uint64_t seed) {
  OpCase c;
  c.op = "softmax_cross_entropy";
  c.attrs = {{"label_smoothing", eps}};
  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = static_cast<int32_t>((i * 7 + seed) % k);
  c.inputs = {random_tensor({n, k}, seed, -3, 3), labels_of(labels)};
  c.cuda_tol = 1e-5;
  return c;
}

}  // namespace qf::test
