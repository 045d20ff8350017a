#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (docs/robustness.md):
# builds build-san/ (tools/build_hardened.sh: clang -O1 -g, CUDA off) and runs ctest there. Any
# sanitizer report fails the test it happens in: UBSan stops at the first report, ASan reports
# memory errors and leaks. Usage: tools/sanitize.sh [ctest args...]
#
# Leaks inside Open MPI, libgomp/libomp and oneDNN's start-up (allocations those libraries keep
# until exit by design) are suppressed in tools/lsan.supp; nothing of qforge's is.
set -euo pipefail
cd "$(dirname "$0")/.."
t=$SECONDS
tools/build_hardened.sh
build_s=$((SECONDS - t))
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tools/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
t=$SECONDS
rc=0
(cd build-san && ctest --output-on-failure -j"$(nproc)" --timeout 1500 "$@") || rc=$?
echo "sanitize: build ${build_s} s, tests $((SECONDS - t)) s"
exit $rc
