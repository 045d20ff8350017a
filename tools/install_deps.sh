#!/usr/bin/env bash
# Installs every Debian package qforge needs to build, test and run (a no-op when all are present).
# Runs as root, or through sudo when available.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache
  libdnnl-dev libboost-program-options-dev libgtest-dev zlib1g-dev nlohmann-json3-dev
  libopenmpi-dev openmpi-bin libopencv-dev libonnx-dev libprotobuf-dev protobuf-compiler
  dataset-fashion-mnist
  python3-torch python3-torchvision python3-onnx
)
# Node.js and npm (for the ONNX Runtime check) often come from outside Debian (nodesource, nvm);
# Debian's npm then conflicts with them, so the packages are only wanted when the commands are absent.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

# ONNX Runtime for node (tests and benchmarks that run exported models): npm's package, with its
# install scripts off (the CPU runtime ships inside the package). Best effort: tests skip without it.
install_ort() {
  local dir
  dir="$(cd "$(dirname "$0")" && pwd)/ort"
  if [ ! -d "$dir/node_modules/onnxruntime-node" ] && command -v npm >/dev/null; then
    (cd "$dir" && npm install --ignore-scripts --no-audit --no-fund >/dev/null 2>&1) ||
      echo "note: npm install of onnxruntime-node failed; ONNX Runtime tests will skip"
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  install_ort
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_ort
