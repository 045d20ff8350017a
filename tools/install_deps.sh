#!/usr/bin/env bash
# Installs everything qforge needs to build, test and run, on a Debian 12 machine that has nothing
# (a no-op when all is present). Runs as root, or through sudo when available.
#
# QF_INSTALL_HARDENING=1 adds clang and its runtimes for the sanitizer and fuzzer build.
#
# Every failure is shown and stops the script: apt-get's own output, and npm's. The one optional
# part is ONNX Runtime for node (tools/ort): without it the ONNX Runtime checks skip, and the script
# says so and why. With QF_REQUIRE_OPTIONAL=1 (CI's fresh-root run) it is required too.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config ccache
  # libraries; oneDNN's CMake config looks for OpenCL, which libdnnl-dev only recommends
  libdnnl-dev ocl-icd-opencl-dev libboost-program-options-dev libgtest-dev zlib1g-dev
  nlohmann-json3-dev libopenmpi-dev openmpi-bin libopencv-dev libonnx-dev libprotobuf-dev
  protobuf-compiler
  # the default data
  dataset-fashion-mnist
  # the PyTorch peer and the main job's table (python3); google.protobuf for tools/read_tfevents.py
  python3 python3-torch python3-torchvision python3-onnx python3-protobuf
  # tools/screenshot_report.sh: the HTML reports opened in headless chromium, with a font to draw in
  chromium fonts-dejavu-core
  # tests: pgrep in the MPI kill test; certificates for npm's registry
  procps ca-certificates
)
# The hardening build (tools/build_hardened.sh: sanitizers and libFuzzer need clang, its compiler-rt
# and its OpenMP runtime): only with QF_INSTALL_HARDENING=1, as CI's hardening stage asks.
if [ "${QF_INSTALL_HARDENING:-}" = 1 ]; then packages+=(clang libclang-rt-dev libomp-dev); fi
# Node.js and npm (for the ONNX Runtime check) often come from outside Debian (nodesource, nvm);
# Debian's npm then conflicts with them, so the packages are only wanted when the commands are absent.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

install_packages() {
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "install_deps: installing ${missing[*]}"
  if ! $SUDO apt-get update -q; then
    echo "install_deps: apt-get update failed (output above); cannot install: ${missing[*]}" >&2
    exit 1
  fi
  if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
      "${missing[@]}"; then
    echo "install_deps: apt-get install failed (output above)" >&2
    exit 1
  fi
}

# ONNX Runtime for node (tests and benchmarks that run exported models): npm's package, with its
# install scripts off (the CPU runtime ships inside the package).
install_ort() {
  local dir log
  dir="$(cd "$(dirname "$0")" && pwd)/ort"
  [ -d "$dir/node_modules/onnxruntime-node" ] && return 0
  log=$(mktemp)
  echo "install_deps: npm install onnxruntime-node into $dir"
  if (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund) >"$log" 2>&1; then
    rm -f "$log"
    return 0
  fi
  echo "install_deps: 'npm install --ignore-scripts' in $dir failed:" >&2
  cat "$log" >&2
  rm -f "$log"
  if [ "${QF_REQUIRE_OPTIONAL:-}" = 1 ]; then
    echo "install_deps: ONNX Runtime is required here (QF_REQUIRE_OPTIONAL=1)" >&2
    exit 1
  fi
  echo "install_deps: going on without ONNX Runtime: the tests that compare with it will skip," \
       "and the main job's ONNX Runtime row will say n/a" >&2
}

install_packages
install_ort
