// The list of built-in ops: nn's (nn/ops) and quant's (quant/ops), each with its CPU kernels and,
// in CUDA builds, its CUDA kernels. nn/ cannot name quant's ops (it is the layer below), so the
// list is assembled here and installed into nn's registry (nn/op_registry.h) at the start of
// every program: qforge's main, the test programs' main (tests/test_main.cpp), the benchmarks.
#pragma once

#include "nn/op_registry.h"

namespace qf {

// Registers every built-in op into `reg`.
void register_builtin_ops(OpRegistry& reg);
// Makes op_registry() serve the built-in ops (idempotent).
void install_builtin_ops();

}  // namespace qf
