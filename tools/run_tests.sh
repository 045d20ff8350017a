#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what is missing, builds, runs ctest.
#
# QF_REQUIRE_OPTIONAL=1 (CI's fresh-root run) makes every optional dependency required: the MPI and
# OpenCV backends must be found by CMake, the tests that need PyTorch, ONNX Runtime, Fashion-MNIST
# or mpirun fail instead of skipping (tests/optional_deps.h, tests/skip_unless.sh), and any skipped
# test other than a GPU test fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
t=$SECONDS
tools/install_deps.sh
install_s=$((SECONDS - t))
build_args=()
if [ "${QF_REQUIRE_OPTIONAL:-}" = 1 ]; then build_args+=(-DQF_REQUIRE_OPTIONAL=ON); fi
t=$SECONDS
tools/build.sh "${build_args[@]}"
build_s=$((SECONDS - t))
cd build
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rc=0
t=$SECONDS
ctest --output-on-failure -j"$(nproc)" --timeout 1500 2>&1 | tee "$log" || rc=$?
echo "run_tests: install ${install_s} s, build ${build_s} s, tests $((SECONDS - t)) s"
[ "$rc" -eq 0 ] || exit "$rc"
if [ "${QF_REQUIRE_OPTIONAL:-}" = 1 ]; then
  # ctest lists skipped tests as "  N - name (Skipped)"; only the GPU tests may skip here: those
  # of test_cuda (label test_cuda), tests named Cuda* in the ops' suites, and test_ops'
  # All/OpCases.Cuda/* (the shared op cases on the CUDA device).
  gpu_tests=$(ctest -N -L '^test_cuda$' | sed -nE 's/^ *Test +#[0-9]+: (.*)$/\1/p' | sort)
  skipped=$(sed -nE 's/^\s*[0-9]+ - (.*) \(Skipped\)$/\1/p' "$log" | sort -u |
            comm -23 - <(echo "$gpu_tests") |
            grep -vE '^([A-Za-z0-9]+\.Cuda|All/OpCases\.Cuda/)' || true)
  if [ -n "$skipped" ]; then
    echo "run_tests: QF_REQUIRE_OPTIONAL=1, but these non-GPU tests skipped:" >&2
    echo "$skipped" >&2
    exit 1
  fi
  echo "run_tests: no test skipped except the GPU tests"
fi
