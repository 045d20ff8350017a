#!/usr/bin/env bash
# Where one engine is faster than the other: qforge's time per convolution and classifier beside
# ONNX Runtime's, layer by layer, on one ONNX model (bench/layer_compare.py reads both engines'
# own per-layer timers: oneDNN's verbose log for qforge, ONNX Runtime's profiler). qforge runs with
# --fuse-blocks false: MobileNetV2's blocks as three timed convolutions each (fused, their strips run
# on both threads at once and their times do not add up); bench/infer_bench.sh times them fused.
#
#   bench/layer_compare.sh MODEL.onnx [BATCH] [THREADS] [ROUNDS]
#       defaults: batch 16, 2 threads, 3 rounds (the engines alternate each round, so that load
#       from other processes hits both alike; the medians pool the rounds)
# Run from the repository root after tools/build.sh; needs node and tools/ort's onnxruntime-node.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { echo "usage: bench/layer_compare.sh MODEL.onnx [BATCH] [THREADS] [ROUNDS]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 4 ] || usage
model=$1 batch=${2:-16} threads=${3:-2} rounds=${4:-3}
[ -f "$model" ] || { echo "layer_compare: error: no model file $model" >&2; exit 2; }
for v in "$batch" "$threads" "$rounds"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "layer_compare: error: '$v' is not a positive integer" >&2; exit 2; }
done
iters=$([ "$batch" -le 2 ] && echo 30 || echo 8)
warmup=2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for r in $(seq "$rounds"); do
  ONEDNN_VERBOSE=1 build/qforge bench --model "$model" --batch-size "$batch" --iters "$iters" \
    --warmup "$warmup" --threads "$threads" --fuse-blocks false >"$dir/qf_$r.log" 2>&1
  node tools/ort/profile_onnx.js --batch "$batch" --runs "$iters" --warmup 3 --threads "$threads" \
    --out "$dir/ort_$r.json" "$model"
done
echo "$model, batch $batch, $threads threads, $rounds rounds; load $(cut -d' ' -f1-3 /proc/loadavg)"
bench/layer_compare.py --qforge "$dir"/qf_*.log --ort "$dir"/ort_*.json \
  --passes $((iters + warmup)) --runs "$iters"
