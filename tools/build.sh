#!/usr/bin/env bash
# Configures and builds qforge (Release) into build/.
#   tools/build.sh [--target T]... [extra cmake args]
# Without --target everything is built (the qforge command, tests, benchmarks, tools); the main job
# builds only `--target qforge`.
set -euo pipefail
cd "$(dirname "$0")/.."
targets=()
while [ $# -gt 0 ] && [ "$1" = "--target" ]; do targets+=(--target "$2"); shift 2; done
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" "$@" >/dev/null
cmake --build build -j"$(nproc)" "${targets[@]}"
