#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine to an int8 model and a table of what it scores:
#   1. installs the Debian packages (tools/install_deps.sh) and builds (tools/build.sh);
#   2. trains MobileNetV1 (the PaddleSlim tutorial's small form) on Fashion-MNIST for one epoch in
#      FP32 on the CPU and evaluates it;
#   3. quant-aware training: one epoch of QAT from that checkpoint, exported as an int8 QDQ ONNX
#      model, evaluated by qforge's int8 engine and by ONNX Runtime (tools/main_job_qat.sh); and
#      the same checkpoint fine-tuned one more epoch in FP32 with QAT's schedule, for comparison;
#   4. static post-training quantization of the FP32 checkpoint (KL, 10 batches of 32) and dynamic
#      weight-only int8, each evaluated on the int8 engine;
#   5. prints the table and writes it to RUN_DIR/summary.md.
#
#   tools/run_main_job.sh [RUN_DIR]          (default runs/main_job; README says how long)
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/main_job}
qforge=build/qforge
export QFORGE=$qforge

start=$SECONDS
tools/install_deps.sh
tools/build.sh --target qforge
setup_s=$((SECONDS - start))
mkdir -p "$run"

echo "== FP32 training (configs/fashion_mnist/mobilenet_v1.ini)"
"$qforge" train --config configs/fashion_mnist/mobilenet_v1.ini --out "$run/fp32" \
  --metrics-out "$run/fp32_train.json"
ckpt="$run/fp32/checkpoint"

echo "== quant-aware training, int8 export, ONNX Runtime"
tools/main_job_qat.sh "$ckpt" "$run"

# The fair baseline for QAT: the same checkpoint fine-tuned one more epoch in FP32 with the QAT
# config's optimizer, schedule and loss (configs/fashion_mnist/mobilenet_v1_qat.ini: lr 0.01
# constant, plain momentum, no L2, no gradient clipping, label smoothing 0.1).
echo "== FP32 fine-tuning, one more epoch (the QAT baseline)"
"$qforge" train --config configs/fashion_mnist/mobilenet_v1.ini --init "$ckpt" \
  --lr 0.01 --schedule.type constant --schedule.warmup_epochs 0 --optimizer.weight_decay 0 \
  --optimizer.nesterov false --optimizer.clip_norm 0 --train.label_smoothing 0.1 \
  --out "$run/fp32_finetune" --metrics-out "$run/fp32_finetune.json"

echo "== post-training quantization"
"$qforge" ptq --init "$ckpt" --algo KL --ptq.batch_size 32 --ptq.batch_nums 10 \
  --out "$run/ptq_kl.onnx"
"$qforge" eval --model "$run/ptq_kl.onnx" --metrics-out "$run/ptq_kl_eval.json"
"$qforge" ptq-dynamic --init "$ckpt" --weight-bits 8 --out "$run/dynamic_int8"
"$qforge" eval --model "$run/dynamic_int8/quantized_model/model.onnx" \
  --metrics-out "$run/dynamic_int8_eval.json"

/usr/bin/env python3 - "$run" <<'EOF' | tee "$run/summary.md"
import json, os, sys
run = sys.argv[1]
def load(name):
    return json.load(open(os.path.join(run, name)))
s = load("summary.json")
fp32 = s["fp32_top1"]
rows = [("FP32 (1 epoch)", fp32, os.path.getsize(f"{run}/fp32.onnx")),
        ("FP32 + 1 epoch FP32 fine-tuning", load("fp32_finetune.json")["top1"], None),
        ("FP32 + 1 epoch QAT, simulated int8", s["qat_top1"], None),
        ("QAT -> int8 ONNX, qforge int8 engine", s["int8_qforge_top1"], s["int8_onnx_bytes"]),
        ("QAT -> int8 ONNX, ONNX Runtime", s["int8_ort_top1"], s["int8_onnx_bytes"]),
        ("PTQ static KL (10 x 32 images)", load("ptq_kl_eval.json")["top1"],
         os.path.getsize(f"{run}/ptq_kl.onnx")),
        ("PTQ dynamic int8 (weights only)", load("dynamic_int8_eval.json")["top1"],
         os.path.getsize(f"{run}/dynamic_int8/quantized_model/model.onnx"))]
print("MobileNetV1 on Fashion-MNIST (test set, 10000 images)\n")
print("| model | top-1 | vs FP32 | ONNX size |")
print("| --- | ---: | ---: | ---: |")
for name, top1, size in rows:
    t = "n/a" if top1 is None else f"{top1:.2f}%"
    d = "" if top1 is None or name == rows[0][0] else f"{top1 - fp32:+.2f}"
    z = "" if size is None else f"{size / 1e6:.2f} MB"
    print(f"| {name} | {t} | {d} | {z} |")
EOF
echo "run_main_job: install and build ${setup_s} s, the job $((SECONDS - start - setup_s)) s"
