// Which registered op has which kernel, on which device, and which has shared test cases.
//
// The table "Ops and their kernels" in docs/architecture.md is the documented answer; this test
// prints the registry's own answer (every op without a fast CPU kernel, every op without a CUDA
// kernel) and fails where the two differ, so the docs cannot drift from the code. The CUDA
// column is compared in builds with the CUDA backend (elsewhere no op has a CUDA kernel).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "nn/op_registry.h"
#include "tests/op_cases.h"

namespace qf::test {
namespace {

struct Kernels {
  bool ref = false, fast = false, cuda = false;
  bool operator==(const Kernels&) const = default;
};

bool has(const OpDef& d, KernelKind k) {
  return d.kernels[static_cast<int>(k)] != nullptr;
}

std::map<std::string, Kernels> registered() {
  std::map<std::string, Kernels> r;
  for (const std::string& op : op_registry().types()) {
    const OpDef& d = op_registry().get(op);
    r[op] = {has(d, KernelKind::cpu_ref), has(d, KernelKind::cpu), has(d, KernelKind::cuda)};
  }
  return r;
}

// The table's rows: | `op` | reference | fast CPU | CUDA | folder |, "yes" or "—" in each cell.
std::map<std::string, Kernels> documented() {
  std::ifstream f(std::string(QF_SOURCE_DIR) + "/docs/architecture.md");
  EXPECT_TRUE(f) << "docs/architecture.md is missing";
  std::map<std::string, Kernels> r;
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    for (std::string cell; std::getline(ss, cell, '|');) {
      const auto b = cell.find_first_not_of(" `"), e = cell.find_last_not_of(" `");
      cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
    }
    if (cells.size() < 4) continue;
    r[cells[0]] = {cells[1] == "yes", cells[2] == "yes", cells[3] == "yes"};
  }
  return r;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "(none)" : s;
}

TEST(OpCoverage, KernelsPerDeviceAreTheDocumentedOnes) {
  const auto reg = registered();
  std::vector<std::string> no_fast, no_cuda;
  bool any_cuda = false;
  for (const auto& [op, k] : reg) {
    if (!k.fast) no_fast.push_back(op);
    if (!k.cuda) no_cuda.push_back(op);
    any_cuda = any_cuda || k.cuda;
  }
  std::printf("ops without a fast CPU kernel (their reference kernel runs): %s\n",
              join(no_fast).c_str());
  if (any_cuda)
    std::printf("ops without a CUDA kernel: %s\n", join(no_cuda).c_str());
  else
    std::printf("this build has no CUDA backend: no op has a CUDA kernel\n");
  const auto doc = documented();
  for (const auto& [op, k] : reg) {
    auto it = doc.find(op);
    if (it == doc.end()) {
      ADD_FAILURE() << "op '" << op << "' is missing from docs/architecture.md's table";
      continue;
    }
    EXPECT_EQ(k.ref, it->second.ref) << op << ": reference kernel";
    EXPECT_EQ(k.fast, it->second.fast) << op << ": fast CPU kernel";
    if (any_cuda) EXPECT_EQ(k.cuda, it->second.cuda) << op << ": CUDA kernel";
  }
  for (const auto& [op, k] : doc)
    EXPECT_TRUE(reg.count(op)) << "docs/architecture.md lists '" << op << "', not registered";
}

TEST(OpCoverage, EveryOpRunsOnTheCpuAndHasSharedCases) {
  std::set<std::string> with_cases;
  for (const OpCaseList& l : op_case_lists())
    for (const NamedCase& c : l.make()) with_cases.insert(c.c.op);
  std::vector<std::string> without;
  for (const auto& [op, k] : registered()) {
    EXPECT_TRUE(k.ref || k.fast) << op << " has no CPU kernel";
    if (!with_cases.count(op)) without.push_back(op);
  }
  EXPECT_TRUE(without.empty()) << "ops without shared test cases: " << join(without);
}

}  // namespace
}  // namespace qf::test
