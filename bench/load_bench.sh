#!/usr/bin/env bash
# Throughput on a busy machine (issue 20): how much each engine loses when other processes compete
# for the cores. The script measures every engine quiet, then starts one busy process per core
# itself (a shell loop: fixed, repeatable load) and measures them again:
#   inference, MobileNetV1 224x224 (the PyTorch export), batch 16: `qforge bench` as shipped
#     (OpenMP spin count 10000, nn/omp_wait.h), qforge with libgomp's default spin count (300000,
#     what qforge did before), ONNX Runtime (tools/ort/bench_onnx.js), PyTorch eager
#     (tools/torch_infer_bench.py);
#   training, MobileNetV1 small form (1x28x28), batch 64: qforge_train_bench as shipped and with
#     libgomp's default, PyTorch eager (tools/torch_train_bench.py).
# Rounds alternate the engines; the table gives the median over rounds, and the drop factor
# quiet / loaded (lower is better).
#
#   bench/load_bench.sh [ROUNDS] [THREADS] [BUSY]   (defaults: 3 rounds, 2 threads, BUSY = nproc)
# Run from the repository root after tools/build.sh and bench/infer_bench.sh's requirements.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
threads=${2:-2}
busy=${3:-$(nproc)}
dir=$(mktemp -d)
pids=()
cleanup() { [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

build/qforge_make_imagelist --out "$dir/data" --train 40 --val 8 --width 224 --height 224 \
  --seed 1 >/dev/null
/usr/bin/python3 tools/torchvision_onnx.py --model mobilenet_v1 --size 224 --data "$dir/data" \
  --onnx "$dir/m.onnx" --inputs "$dir/m.bin" --images 1 >/dev/null
# images_per_sec of the first JSON line on stdin, or of the JSON document in file $1.
json_rate() {
  /usr/bin/python3 -c "import json,sys
print((json.load(open(sys.argv[1])) if len(sys.argv) > 1 else json.loads(sys.stdin.readline()))['images_per_sec'])" "$@"
}

# One figure (img/s) per engine and task on stdout, "name value".
measure() {
  local q="build/qforge bench --model $dir/m.onnx --batch-size 16 --iters 10 --warmup 2 --threads $threads --metrics-out $dir/q.json"
  $q >/dev/null 2>&1 && echo "infer_qforge $(json_rate "$dir/q.json")"
  GOMP_SPINCOUNT=300000 $q >/dev/null 2>&1 && echo "infer_qforge_spin300k $(json_rate "$dir/q.json")"
  echo "infer_ort $(node tools/ort/bench_onnx.js --batch 16 --runs 10 --warmup 2 --rounds 1 \
    --threads "$threads" "$dir/m.onnx" | head -1 | json_rate)"
  echo "infer_pytorch $(/usr/bin/python3 tools/torch_infer_bench.py --model mobilenet_v1 \
    --batch 16 --threads "$threads" --runs 5 --warmup 1 | json_rate)"
  local t="build/bench/qforge_train_bench --rows mobilenet_v1:small:64 --threads $threads --steps 5 --windows 3 --no-peer"
  echo "train_qforge $($t | awk '$1 == "mobilenet_v1" {print $4}')"
  echo "train_qforge_spin300k $(GOMP_SPINCOUNT=300000 $t | awk '$1 == "mobilenet_v1" {print $4}')"
  echo "train_pytorch $(/usr/bin/python3 tools/torch_train_bench.py --model mobilenet_v1 \
    --batch 64 --size 28 --channels 1 --classes 10 --threads "$threads" --steps 5 --windows 3 \
    | json_rate)"
}

for r in $(seq "$rounds"); do measure >>"$dir/quiet.txt"; done
for i in $(seq "$busy"); do (while :; do :; done) & pids+=($!); done
sleep 1
echo "load with $busy busy processes: $(uptime)"
for r in $(seq "$rounds"); do measure >>"$dir/loaded.txt"; done
kill "${pids[@]}" 2>/dev/null; pids=()

/usr/bin/env python3 - "$dir" "$rounds" "$threads" "$busy" <<'EOF'
import statistics, sys
d, rounds, threads, busy = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def load(f):
    v = {}
    for line in open(f"{d}/{f}.txt"):
        k, x = line.split()
        v.setdefault(k, []).append(float(x))
    return {k: statistics.median(x) for k, x in v.items()}
quiet, loaded = load("quiet"), load("loaded")
print(f"{threads} threads, {busy} busy processes started by the benchmark, median of {rounds} rounds")
print("| task | engine | quiet img/s | loaded img/s | drop (quiet / loaded) |")
print("| --- | --- | ---: | ---: | ---: |")
names = {"qforge": "qforge (spin 10000)", "qforge_spin300k": "qforge, libgomp default spin",
         "ort": "ONNX Runtime", "pytorch": "PyTorch eager"}
for k in quiet:
    task, engine = k.split("_", 1)
    print(f"| {task} | {names[engine]} | {quiet[k]:.1f} | {loaded[k]:.1f} | "
          f"{quiet[k] / loaded[k]:.2f}x |")
EOF
