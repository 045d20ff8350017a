#!/usr/bin/env bash
# Runs qforge's GPU tests and benchmarks on a GPU machine, from the repository root, with the
# folder tools/gpu/pack.sh made here (docs/gpu.md):
#
#   tools/gpu/run_on_gpu.sh [STAGES] [PACK_DIR]
#
# STAGES, comma-separated (default all):
#   env        GPU, driver, the NVIDIA libraries found, PyTorch's view, what each program loads
#   tests      every test program (test_cuda is the GPU one; the CPU suites must pass there too)
#   memcheck   compute-sanitizer memcheck on the op and context tests
#   fakequant  bench/cuda_fake_quant_bench (fake-quant kernels vs device-to-device copy)
#   train      bench/cuda_train_bench, MobileNetV1 batch 256 and ResNet50 batch 64, FP32 and QAT,
#              each beside PyTorch eager FP32 or eager QAT (torch_train_gpu.py) in the same run
#   cli        end to end, when the pack holds Fashion-MNIST (pack.sh --with-data): `qforge train`
#              one epoch of MobileNetV1 on cuda:0, then `qforge eval` of its checkpoint on the GPU
#              and on the CPU (the two must agree)
# Results go under $OUT (the device tool's output folder) or gpu_results/: one text file per
# stage (at most 8 files come back from a call) and summary.txt, printed last.
#
# The machine is expected to have the NVIDIA driver, python3 with PyTorch and the Python packages
# nvidia-cudnn-cu13 / nvidia-cublas / nvidia-nccl-cu13 (their lib folders go on LD_LIBRARY_PATH),
# and compute-sanitizer; it needs no compiler, CMake, Boost, oneDNN or MPI.
set -uo pipefail
cd "$(dirname "$0")/../.."
stages=${1:-all}
pack=${2:-gpu_pack}
pack_arg=$pack
out=${OUT:-gpu_results}
mkdir -p "$out"
if [[ -f "$pack/qforge_gpu.tar.xz" ]]; then  # unpack once per machine
  dest=${TMPDIR:-/tmp}/qforge_gpu
  if ! cmp -s "$pack/MANIFEST" "$dest/MANIFEST"; then
    rm -rf "$dest" && mkdir -p "$dest" && tar -C "$dest" -xJf "$pack/qforge_gpu.tar.xz"
  fi
  pack=$dest
fi
if [[ ! -x "$pack/bin/test_cuda" ]]; then
  echo "run_on_gpu.sh: no $pack/bin/test_cuda; make the pack with tools/gpu/pack.sh and carry it" >&2
  exit 2
fi
want() { [[ ",$stages," == *",all,"* || ",$stages," == *",$1,"* ]]; }

nvlibs=$(python3 - <<'PY' 2>/dev/null
import os
try:
    import nvidia
except ImportError:
    raise SystemExit(0)
dirs = []
for root in list(nvidia.__path__):
    for sub in ("cudnn/lib", "cu13/lib", "cublas/lib", "nccl/lib", "cuda_runtime/lib"):
        d = os.path.join(root, sub)
        if os.path.isdir(d) and d not in dirs:
            dirs.append(d)
print(":".join(dirs))
PY
)
[[ $pack == /* ]] || pack=$PWD/$pack
# The programs were built elsewhere; tests and benchmarks that find files through the build's
# source and binary directories get those paths as links to this checkout and to the programs.
for key in "source dir" "binary dir"; do
  path=$(sed -n "s/^$key: //p" "$pack/MANIFEST")
  target=$PWD
  [[ $key == "binary dir" ]] && target=$pack/bin
  if [[ -n $path && ! -e $path ]]; then
    mkdir -p "$(dirname "$path")" 2>/dev/null && ln -s "$target" "$path" 2>/dev/null || true
  fi
done
export LD_LIBRARY_PATH="$pack/lib${nvlibs:+:$nvlibs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
summary="$out/summary.txt"
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }

# run NAME FILE TIMEOUT COMMAND...: appends the command's output to FILE, notes its exit status.
run() {
  local name=$1 file=$2 limit=$3
  shift 3
  echo "== $name: $*" | tee -a "$out/$file"
  local t0=$SECONDS
  timeout "$limit" "$@" >> "$out/$file" 2>&1
  local rc=$?
  note "$name: exit $rc ($((SECONDS - t0)) s)$([[ $rc == 124 ]] && echo ', TIMED OUT')"
  return 0
}

if want env; then
  {
    nvidia-smi || true
    echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
    echo "compute-sanitizer: ${sanitizer:-not found}"
    cat "$pack/MANIFEST"
    env -u LD_LIBRARY_PATH python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), torch.cuda.get_device_name(0))' || true
    ldd "$pack/bin/test_cuda"
  } > "$out/env.txt" 2>&1
  note "env: $(grep -m1 -E 'NVIDIA (H|A|L|B|G)' "$out/env.txt" | sed 's/|//g' | xargs)"
  grep -q "not found" <(ldd "$pack/bin/test_cuda") && note "env: MISSING LIBRARIES: $(ldd "$pack/bin/test_cuda" | grep 'not found' | xargs)"
fi

if want tests; then
  run test_cuda tests.txt 900 "$pack/bin/test_cuda"
  grep -E "^\[  (PASSED|FAILED|SKIPPED) " "$out/tests.txt" | tee -a "$summary"
  for t in "$pack"/bin/test_*; do
    [[ $(basename "$t") == test_cuda ]] && continue
    run "$(basename "$t")" tests.txt 600 "$t" --gtest_brief=1
  done
fi

if want memcheck; then
  if [[ -z "$sanitizer" ]]; then
    note "memcheck: compute-sanitizer not found"
  else
    # Every op's CUDA kernel on its shared cases (test_ops), then the context (test_cuda).
    run memcheck memcheck.txt 400 "$sanitizer" --tool memcheck --leak-check no --error-exitcode 99 \
      "$pack/bin/test_ops" --gtest_filter='All/OpCases.Cuda/*'
    run memcheck memcheck_context.txt 170 "$sanitizer" --tool memcheck --leak-check no \
      --error-exitcode 99 "$pack/bin/test_cuda" --gtest_filter='CudaContext.*'
    grep -hE "ERROR SUMMARY|^\[  (PASSED|FAILED) " "$out/memcheck.txt" "$out/memcheck_context.txt" |
      tee -a "$summary"
  fi
fi

if want fakequant; then
  run fake_quant_bench fake_quant.txt 300 "$pack/bin/qforge_cuda_fake_quant_bench"
  grep -E "check|copy|per-" "$out/fake_quant.txt" | tee -a "$summary"
fi

if want train; then
  run train_bench train.txt 540 "$pack/bin/qforge_cuda_train_bench" \
    --rows mobilenet_v1:256,mobilenet_v1:256:qat,resnet50:64,resnet50:64:qat \
    --peer-script tools/gpu/torch_train_gpu.py
  grep -E "^GPU|^Training|img/s|mobilenet_v1 |resnet50 " "$out/train.txt" | tee -a "$summary"
fi
if want cli; then
  data=$pack_arg/fashion-mnist
  if [[ ! -f $data/train-images-idx3-ubyte.gz ]]; then
    note "cli: no Fashion-MNIST in the pack (make it with tools/gpu/pack.sh --with-data)"
  else
    run=${TMPDIR:-/tmp}/qforge_cli_run
    rm -rf "$run"
    run train_gpu cli.txt 540 "$pack/bin/qforge" train --config configs/fashion_mnist/mobilenet_v1.ini \
      --device cuda:0 --data.root "$data" --epochs 1 --out "$run" --metrics-out "$run/train.json"
    run eval_gpu cli.txt 120 "$pack/bin/qforge" eval --init "$run/checkpoint" --device cuda:0 \
      --data.root "$data" --metrics-out "$run/eval_gpu.json"
    run eval_cpu cli.txt 300 "$pack/bin/qforge" eval --init "$run/checkpoint" --device cpu \
      --data.root "$data" --metrics-out "$run/eval_cpu.json"
    for f in train eval_gpu eval_cpu; do
      [[ -f $run/$f.json ]] && note "cli $f: $(tr -d '\n ' < "$run/$f.json")"
    done
  fi
fi
echo "== summary ($summary)"
cat "$summary"
