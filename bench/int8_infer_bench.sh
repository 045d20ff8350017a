#!/usr/bin/env bash
# Inference speed of MobileNetV1 (ImageNet form, 3x224x224, batch 16) in FP32 and int8, in qforge
# and in ONNX Runtime, on the same two ONNX files, in one run:
#   - the files: bench/qat_bench --export writes mobilenet_v1_224_fp32.onnx and the QDQ int8 model
#     converted from the quant-aware twin after a few training steps (real scales, PaddleSlim's
#     placement: channel-wise weights, moving-average activations);
#   - qforge: `qforge bench --model FILE` (the int8 file runs on the int8 engine: oneDNN int8
#     convolutions, int32 accumulation);
#   - ONNX Runtime: tools/ort/bench_onnx.js (onnxruntime-node, CPU execution provider).
# Rounds alternate the four measurements so that load from other processes hits them alike; the
# table gives the median over rounds of each one's median img/s, and the ratios.
#
#   bench/int8_infer_bench.sh [ROUNDS] [THREADS]        (defaults: 5 rounds, 2 threads)
# Run from the repository root after tools/build.sh (and tools/install_deps.sh for onnxruntime).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
threads=${2:-2}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

echo "load before: $(uptime)"
build/bench/qat_bench --image-size 224 --batch 16 --rounds 1 --steps 2 --threads "$threads" \
  --export "$dir" >/dev/null
fp32="$dir/mobilenet_v1_224_fp32.onnx"
int8="$dir/mobilenet_v1_224_int8.onnx"
have_ort=0
if command -v node >/dev/null && [ -d tools/ort/node_modules/onnxruntime-node ]; then have_ort=1; fi

for r in $(seq "$rounds"); do
  for which in fp32 int8; do
    build/qforge bench --model "$dir/mobilenet_v1_224_$which.onnx" --batch-size 16 --iters 20 \
      --warmup 3 --threads "$threads" --metrics-out "$dir/qf_${which}_$r.json" >/dev/null 2>&1
  done
  if [ $have_ort = 1 ]; then
    node tools/ort/bench_onnx.js --batch 16 --runs 20 --warmup 3 --rounds 1 --threads "$threads" \
      "$fp32" "$int8" >"$dir/ort_$r.jsonl"
  fi
done
echo "load after:  $(uptime)"

/usr/bin/env python3 - "$dir" "$rounds" "$have_ort" "$threads" <<'EOF'
import json, statistics, sys
d, rounds, have_ort, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
def med(v):
    return statistics.median(v) if v else float("nan")
qf = {w: med([json.load(open(f"{d}/qf_{w}_{r}.json"))["images_per_sec"]
              for r in range(1, rounds + 1)]) for w in ("fp32", "int8")}
ort = {"fp32": float("nan"), "int8": float("nan")}
version = "missing"
if have_ort:
    rows = [[json.loads(l) for l in open(f"{d}/ort_{r}.jsonl")] for r in range(1, rounds + 1)]
    ort = {"fp32": med([r[0]["images_per_sec"] for r in rows]),
           "int8": med([r[1]["images_per_sec"] for r in rows])}
    version = rows[0][0]["ort_version"]
print(f"MobileNetV1 224x224, batch 16, {threads} threads, median of {rounds} rounds "
      f"(ONNX Runtime {version})")
print("| engine | FP32 img/s | int8 img/s | int8 / FP32 |")
print("| --- | ---: | ---: | ---: |")
for name, v in (("qforge", qf), ("ONNX Runtime", ort)):
    print(f"| {name} | {v['fp32']:.1f} | {v['int8']:.1f} | {v['int8'] / v['fp32']:.2f}x |")
print(f"qforge int8 / ONNX Runtime int8: {qf['int8'] / ort['int8']:.2f}x; "
      f"qforge int8 / qforge FP32: {qf['int8'] / qf['fp32']:.2f}x; "
      f"ONNX Runtime int8 / FP32: {ort['int8'] / ort['fp32']:.2f}x")
EOF
