// Every op's shared cases (tests/op_cases.h) on every device: OpCases/Cpu.<list>_<case> runs the
// gradient check and the fast-against-reference check, OpCases/Cuda.<list>_<case> the CUDA kernel
// against the reference (in builds with the CUDA backend; skipped, saying why, where no GPU is
// usable).
#include <gtest/gtest.h>

#include "tests/op_cases.h"

namespace qf::test {
namespace {

struct CaseRef {
  std::string list;
  NamedCase c;
};

std::vector<CaseRef> all_cases() {
  std::vector<CaseRef> r;
  for (const OpCaseList& l : op_case_lists())
    for (NamedCase& c : l.make()) r.push_back({l.name, std::move(c)});
  return r;
}

void PrintTo(const CaseRef& c, std::ostream* os) { *os << c.list << "_" << c.c.name; }

std::string case_name(const ::testing::TestParamInfo<CaseRef>& info) {
  return info.param.list + "_" + info.param.c.name;
}

class OpCases : public ::testing::TestWithParam<CaseRef> {};

TEST_P(OpCases, Cpu) {
  const NamedCase& c = GetParam().c;
  if (!(c.checks & (kGradients | kFast))) GTEST_SKIP() << "a CUDA-only case";
  if (c.checks & kGradients) check_gradients(c.c);
  if (c.checks & kFast) check_fast_matches_ref(c.c);
}

#ifdef QF_TEST_CUDA_OP_CASES  // builds with the CUDA backend (tests/CMakeLists.txt)
TEST_P(OpCases, Cuda) {
  QF_SKIP_WITHOUT_GPU();
  const NamedCase& c = GetParam().c;
  if (!(c.checks & kCuda)) GTEST_SKIP() << "a CPU-only case";
  check_cuda_matches_ref(c.c);
}
#endif

INSTANTIATE_TEST_SUITE_P(All, OpCases, ::testing::ValuesIn(all_cases()), case_name);

}  // namespace
}  // namespace qf::test
