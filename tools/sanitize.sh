#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (docs/robustness.md): builds
# build-san/ (tools/build_hardened.sh: clang -O1 -g, CUDA off) and runs ctest there. Any sanitizer
# report fails the test it happens in: UBSan stops at the first report, ASan reports memory errors
# and leaks.
#
#   tools/sanitize.sh [ctest args...]          the whole suite (over 20 minutes on 2 cores)
#   tools/sanitize.sh --quick [ctest args...]  what CI runs: the tests of the readers of user input
#                                              (test_io: ONNX, safetensors, hostile models;
#                                              test_data: idx, image lists, images)
#
# Leaks that libraries keep until exit by design are suppressed by name in tools/lsan.supp: only
# Open MPI's, in the MPI ranks (whose components stay loaded for it: tests/dist_mpi/keep_dlopened.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
if [ "${1:-}" = --quick ]; then quick=1; shift; fi
t=$SECONDS
if [ $quick = 1 ]; then
  tools/build_hardened.sh test_io test_data
else
  tools/build_hardened.sh
fi
build_s=$((SECONDS - t))
# allocator_may_return_null: an allocation the host cannot serve returns null as it does under
# glibc (the engine turns that into bad_alloc and one input error) instead of aborting the run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tools/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
t=$SECONDS
rc=0
run_ctest() { (cd build-san && ctest --output-on-failure -j"$(nproc)" --timeout 1500 "$@") || rc=$?; }
if [ $quick = 1 ]; then
  run_ctest -L '^(test_io|test_data)$' -E '^imagelist_train_e2e$' "$@"
else
  run_ctest "$@"
fi
echo "sanitize: build ${build_s} s, tests $((SECONDS - t)) s"
exit $rc
