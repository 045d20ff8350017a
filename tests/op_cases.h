// The shared test cases of the ops: each op's folder lists its cases once, in <op>_cases.cpp
// (nn/ops/<op>/ or quant/ops/<op>/), and tests/ops/backend_ops_test.cpp runs every case on every
// device — on the CPU the gradient check (reference kernel in double against finite differences)
// and the fast kernel against the reference, on a GPU the CUDA kernel against the reference (ggml's
// test-backend-ops, Caffe's typed fixtures). A case says which of the three checks apply: large
// shapes, for instance, are too slow for finite differences and run only the other two.
//
//   QF_OP_CASES(conv2d) {
//     std::vector<NamedCase> r;
//     r.push_back({"3x3_dense", conv_case(...)});                  // every check
//     r.push_back({"1x1_large", conv_case(...), kFast | kCuda});   // not the gradient check
//     return r;
//   }
//
// Cases are registered when the test program starts (each *_cases.cpp is one of its sources), so
// a new op's cases need no line anywhere else.
#pragma once

#include <string>
#include <vector>

#include "tests/op_check.h"

namespace qf::test {

enum CaseChecks : unsigned { kGradients = 1, kFast = 2, kCuda = 4, kAllChecks = 7 };

struct NamedCase {
  std::string name;  // unique within its list; letters, digits and '_'
  OpCase c;
  unsigned checks = kAllChecks;
};

struct OpCaseList {
  std::string name;  // the op folder's name (test names are <name>_<case name>)
  std::vector<NamedCase> (*make)();
};

// Every registered list, in registration order.
std::vector<OpCaseList>& op_case_lists();

struct OpCaseRegistrar {
  OpCaseRegistrar(const char* name, std::vector<NamedCase> (*make)());
};

}  // namespace qf::test

#define QF_OP_CASES(name)                                                                    \
  static std::vector<::qf::test::NamedCase> qf_op_cases_##name();                            \
  static const ::qf::test::OpCaseRegistrar qf_op_cases_registrar_##name(#name,               \
                                                                        qf_op_cases_##name); \
  static std::vector<::qf::test::NamedCase> qf_op_cases_##name()
