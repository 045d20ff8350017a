#!/usr/bin/env bash
# Post-training quantization of one FP32 checkpoint with every calibration algorithm, and dynamic
# weight-only quantization (int8, int16), each evaluated on the Fashion-MNIST test set: qforge's
# int8 engine, and ONNX Runtime on the same file (when onnxruntime-node is installed). Prints a
# markdown table with each model's top-1 and its difference from FP32.
#
#   scripts/ptq_table.sh CHECKPOINT [OUT_DIR]      (the main job's runs/main_job/fp32/checkpoint)
# Static PTQ calibrates on 10 batches of 32 training images, as the seeds' tutorial does.
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=${1:?usage: scripts/ptq_table.sh CHECKPOINT [OUT_DIR]}
out=${2:-runs/ptq_table}
qforge=${QFORGE:-build/qforge}
mkdir -p "$out"
have_ort=0
if command -v node >/dev/null && [ -d tools/ort/node_modules/onnxruntime-node ]; then have_ort=1; fi

# One ONNX file: its top-1 on the int8 engine and in ONNX Runtime.
score() {
  local name=$1 file=$2
  "$qforge" eval --model "$file" --metrics-out "$out/$name.json" >"$out/$name.log" 2>&1
  if [ $have_ort = 1 ]; then
    node tools/ort/run_onnx.js --model "$file" >"$out/$name.ort.json" 2>>"$out/$name.log"
  else
    echo '{"top1": null}' >"$out/$name.ort.json"
  fi
}

"$qforge" export --init "$ckpt" --out "$out/fp32.onnx" >/dev/null 2>&1
score fp32 "$out/fp32.onnx"
for algo in KL hist mse avg abs_max; do
  "$qforge" ptq --init "$ckpt" --algo "$algo" --ptq.batch_size 32 --ptq.batch_nums 10 \
    --out "$out/ptq_$algo.onnx" >"$out/ptq_$algo.quant.log" 2>&1
  score "ptq_$algo" "$out/ptq_$algo.onnx"
done
for bits in 8 16; do
  "$qforge" ptq-dynamic --init "$ckpt" --weight-bits "$bits" --out "$out/dynamic_int$bits" \
    >"$out/dynamic_int$bits.quant.log" 2>&1
  score "dynamic_int$bits" "$out/dynamic_int$bits/quantized_model/model.onnx"
done

/usr/bin/env python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
def top1(name, ort=False):
    return json.load(open(f"{out}/{name}{'.ort' if ort else ''}.json"))["top1"]
fp32 = top1("fp32")
rows = [("FP32", "fp32")] + [(f"static PTQ, {a}", f"ptq_{a}") for a in
                             ("KL", "hist", "mse", "avg", "abs_max")] + \
       [("dynamic, int8 weights", "dynamic_int8"), ("dynamic, int16 weights", "dynamic_int16")]
print("| model | top-1 (qforge) | vs FP32 | top-1 (ONNX Runtime) |")
print("| --- | ---: | ---: | ---: |")
for label, name in rows:
    q, o = top1(name), top1(name, True)
    d = "" if name == "fp32" else f"{q - fp32:+.2f}"
    print(f"| {label} | {q:.2f}% | {d} | {'n/a' if o is None else f'{o:.2f}%'} |")
EOF
