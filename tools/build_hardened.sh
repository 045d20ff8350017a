#!/usr/bin/env bash
# Configures and builds the hardening tree build-san/: clang, -O1 -g, AddressSanitizer and
# UndefinedBehaviorSanitizer on every target, libFuzzer coverage on every object and the fuzz
# targets of fuzz/ (QF_FUZZ), the CUDA backend off. tools/sanitize.sh runs the test suite from it,
# tools/fuzz.sh the fuzzers. Usage: tools/build_hardened.sh [targets...] (default: all)
#
# Needs clang, its compiler-rt (libFuzzer, the sanitizer runtimes) and libomp:
# QF_INSTALL_HARDENING=1 tools/install_deps.sh installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in clang clang++; do
  command -v "$tool" >/dev/null ||
    { echo "build_hardened: $tool not found (QF_INSTALL_HARDENING=1 tools/install_deps.sh)" >&2; exit 1; }
done
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B build-san -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DQF_SANITIZE=address,undefined -DQF_FUZZ=ON -DQF_WITH_CUDA=OFF -DQF_BUILD_BENCH=OFF \
  "${launcher[@]}" >/dev/null
if [ $# -gt 0 ]; then
  cmake --build build-san -j"$(nproc)" --target "$@"
else
  cmake --build build-san -j"$(nproc)"
fi
