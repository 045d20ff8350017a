#!/usr/bin/env bash
# Builds qforge with its CUDA backend on this machine (nvcc 13, cuDNN 9 under /usr/local/cuda) and
# gathers what a GPU machine needs to run the GPU tests and benchmarks into one folder, to carry
# there (docs/gpu.md):
#   PACK/bin   qforge, every test program, the benchmarks
#   PACK/lib   their shared libraries other than the C/C++ runtime and NVIDIA's (oneDNN, its
#              OpenCL loader, Boost.Program_options, the OpenMP runtime, ...), found with ldd
#   PACK/MANIFEST  what was built from which commit, with which cuDNN, and the sizes
# all in one archive, PACK/qforge_gpu.tar.xz (xz: 71 MiB of programs and oneDNN become about
# 12 MiB), beside a copy of the MANIFEST; run_on_gpu.sh unpacks it on the GPU machine.
# NVIDIA's libraries are not carried: the CUDA runtime is linked statically, the driver is the
# machine's, and cuDNN, cuBLAS and NCCL (about 1.2 GB, far over what a call carries) come from the
# GPU machine's Python packages nvidia-cudnn-cu13, nvidia-cublas and nvidia-nccl-cu13, which
# tools/gpu/run_on_gpu.sh puts on LD_LIBRARY_PATH. The C and C++ runtimes are not carried either:
# the GPU machine's are newer than Debian 12's, which is what forward compatibility needs, and a
# carried older libstdc++ would break its PyTorch.
#
# With --with-data it also copies Fashion-MNIST (/usr/share/datasets/fashion-mnist, 30 MiB of .gz)
# into PACK/fashion-mnist, for run_on_gpu.sh's end-to-end `cli` stage.
#
# Usage: tools/gpu/pack.sh [--with-data] [PACK_DIR]   (default gpu_pack/, which git ignores so it
#        can be carried: the device tool's `carry` takes ignored paths, 64 MiB in all)
set -euo pipefail
cd "$(dirname "$0")/../.."
with_data=0
if [[ ${1:-} == --with-data ]]; then
  with_data=1
  shift
fi
pack=${1:-gpu_pack}
# A build of its own, without MPI (so without NCCL: one GPU) and OpenCV: Debian's OpenCV pulls in
# GDAL and 230 MB of libraries, which no call can carry.
build=${QF_GPU_BUILD_DIR:-build-gpu}
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQF_WITH_CUDA=ON -DQF_WITH_MPI=OFF \
  -DQF_WITH_OPENCV=OFF "${launcher[@]}" | grep -E "CUDA|cuDNN" || true
cmake --build "$build" -j"${JOBS:-2}"
if [[ ! -x "$build/bench/qforge_cuda_train_bench" ]]; then
  echo "pack.sh: the CUDA backend was not built (see the CUDA line of cmake's summary)" >&2
  exit 1
fi

rm -rf "$pack"
stage="$pack/tree"
mkdir -p "$stage/bin" "$stage/lib"
cp "$build/qforge" "$stage/bin/"
find "$build/tests" -maxdepth 1 -type f -executable -name 'test_*' -exec cp {} "$stage/bin/" \;
find "$build/bench" -maxdepth 1 -type f -executable -name 'qforge_*' -exec cp {} "$stage/bin/" \;

skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libstdc\+\+|libgcc_s|libcuda\.so|libcudnn|libcublas|libnccl|libnvrtc|libcudart|libnvJitLink)'
for b in "$stage"/bin/*; do
  ldd "$b" | awk '/=> \// {print $3}'
done | sort -u | while read -r lib; do
  name=$(basename "$lib")
  [[ $name =~ $skip ]] && continue
  cp -L "$lib" "$stage/lib/$name"
done

cudnn=$(grep -E "define CUDNN_(MAJOR|MINOR|PATCHLEVEL) " /usr/local/cuda/include/cudnn_version.h \
        | awk '{print $3}' | paste -sd.)
{
  echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "nvcc: $(/usr/local/cuda/bin/nvcc --version | tail -2 | head -1)"
  echo "cuDNN headers: $cudnn; CUDA architectures: $(grep -m1 QF_CUDA_ARCHITECTURES "$build/CMakeCache.txt" | cut -d= -f2)"
  echo "needs on the GPU machine: NVIDIA driver >= 580, libcudnn.so.9, libcublas.so.13 (python packages)"
  echo "source dir: $PWD"
  echo "binary dir: $(cd "$build" && pwd)"
  (cd "$stage" && find . -type f -printf '%s %p\n' | sort -k2)
} > "$stage/MANIFEST"
cp "$stage/MANIFEST" "$pack/MANIFEST"
tar -C "$stage" -cf - . | xz -T"${JOBS:-2}" -6 > "$pack/qforge_gpu.tar.xz"
rm -rf "$stage"
if (( with_data )); then
  mkdir -p "$pack/fashion-mnist"
  cp /usr/share/datasets/fashion-mnist/*-ubyte.gz "$pack/fashion-mnist/"
fi
total=$(du -sm "$pack" | cut -f1)
echo "pack.sh: $pack/qforge_gpu.tar.xz holds $(grep -c '^[0-9]* ./bin/' "$pack/MANIFEST") programs and $(grep -c '^[0-9]* ./lib/' "$pack/MANIFEST") libraries, ${total} MiB"
if (( total > 56 )); then
  echo "pack.sh: warning: over 56 MiB; a device call carries 64 MiB with the working tree" >&2
fi
