#include "tests/op_cases.h"

namespace qf::test {

std::vector<OpCaseList>& op_case_lists() {
  static std::vector<OpCaseList> lists;
  return lists;
}

OpCaseRegistrar::OpCaseRegistrar(const char* name, std::vector<NamedCase> (*make)()) {
  op_case_lists().push_back({name, make});
}

}  // namespace qf::test
