#!/usr/bin/env bash
# Inference speed, qforge beside ONNX Runtime, on models qforge did not write (issue 20):
#   - "pytorch": MobileNetV1 (tools/torch_models.py, the PyTorch twin of qforge's), MobileNetV2 and
#     ResNet50 (torchvision 0.14), random-initialised, BatchNorm statistics from 32 images, eval
#     mode, exported by torch.onnx.export at opset 13 (tools/torchvision_onnx.py);
#   - "qforge": the same three models exported by qforge (bench/export_models.cpp);
#   - "int8": `qforge ptq` of the PyTorch exports (QDQ files, calibrated on an image list made by
#     qforge_make_imagelist at 224x224).
# Each file at batch 16 (img/s) and batch 1 (ms per image), `qforge bench` and
# tools/ort/bench_onnx.js (onnxruntime-node, CPU execution provider, all graph optimisations),
# same threads. Rounds alternate every measurement so that load from other processes hits both
# engines alike; the table gives the median over rounds of each one's median, and the ratios.
#
#   bench/infer_bench.sh [ROUNDS] [THREADS] [MODELS]
#       defaults: 5 rounds, 2 threads, "mobilenet_v1 mobilenet_v2 resnet50"
# Run from the repository root after tools/build.sh; needs /usr/bin/python3 with python3-torch and
# python3-torchvision, node and tools/ort's onnxruntime-node (tools/install_deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
threads=${2:-2}
models=${3:-"mobilenet_v1 mobilenet_v2 resnet50"}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
iters_for() { case "$1" in 1) echo 40 ;; *) echo 12 ;; esac; }

build/qforge_make_imagelist --out "$dir/data" --train 64 --val 16 --width 224 --height 224 \
  --seed 1 >/dev/null
build/bench/qforge_export_models --out "$dir" --models "$(echo $models | tr ' ' ',')" >/dev/null
files=()
for m in $models; do
  /usr/bin/python3 tools/torchvision_onnx.py --model "$m" --size 224 --data "$dir/data" \
    --onnx "$dir/${m}_pytorch.onnx" --inputs "$dir/$m.input.bin" --images 1 >/dev/null
  build/qforge ptq --model "$dir/${m}_pytorch.onnx" --data.format imagelist --data.root "$dir/data" \
    --data.crop_size 224 --data.resize_short 224 --ptq.calib_split test --batch-nums 2 \
    --batch-size 8 --threads "$threads" --out "$dir/${m}_int8.onnx" >/dev/null 2>&1
  files+=("${m}_pytorch" "${m}_qforge" "${m}_int8")
done

echo "load before: $(uptime)"
for r in $(seq "$rounds"); do
  for f in "${files[@]}"; do
    for b in 16 1; do
      build/qforge bench --model "$dir/$f.onnx" --batch-size $b --iters "$(iters_for $b)" \
        --warmup 3 --threads "$threads" --metrics-out "$dir/qf_${f}_${b}_$r.json" >/dev/null 2>&1
      node tools/ort/bench_onnx.js --batch $b --runs "$(iters_for $b)" --warmup 3 --rounds 1 \
        --threads "$threads" "$dir/$f.onnx" | head -1 >"$dir/ort_${f}_${b}_$r.json"
    done
  done
done
echo "load after:  $(uptime)"

/usr/bin/env python3 - "$dir" "$rounds" "$threads" "${files[@]}" <<'EOF'
import json, statistics, sys
d, rounds, threads, files = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
def med(engine, f, b):
    return statistics.median(json.load(open(f"{d}/{engine}_{f}_{b}_{r}.json"))["images_per_sec"]
                             for r in range(1, rounds + 1))
version = json.load(open(f"{d}/ort_{files[0]}_16_1.json"))["ort_version"]
print(f"224x224, {threads} threads, median of {rounds} rounds; ONNX Runtime {version} "
      "(onnxruntime-node, CPU EP)")
print("| model | file | batch 16: qforge img/s | ORT img/s | qforge / ORT | "
      "batch 1: qforge ms | ORT ms | qforge / ORT |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for f in files:
    model, kind = f.rsplit("_", 1)
    q16, o16 = med("qf", f, 16), med("ort", f, 16)
    q1, o1 = 1000 / med("qf", f, 1), 1000 / med("ort", f, 1)
    print(f"| {model} | {kind} | {q16:.1f} | {o16:.1f} | {q16 / o16:.2f} | {q1:.2f} | {o1:.2f} | "
          f"{q1 / o1:.2f} |")
EOF
