#!/usr/bin/env bash
# The QAT part of the main job: FP32 checkpoint -> quant-aware fine-tuning -> int8 ONNX export ->
# int8 evaluation in ONNX Runtime, ending with a small table. Meant to be sourced or called by
# tools/run_main_job.sh after its FP32 training step:
#
#   tools/main_job_qat.sh FP32_CHECKPOINT [RUN_DIR]
#
# Writes RUN_DIR/fp32.onnx, the QAT run (checkpoint, model_int8.onnx, model_float_grid.onnx) and
# RUN_DIR/summary.json. Extra qforge arguments can be passed in QAT_ARGS (e.g. "--threads 2").
set -euo pipefail
cd "$(dirname "$0")/.."
fp32=${1:?usage: tools/main_job_qat.sh FP32_CHECKPOINT [RUN_DIR]}
run=${2:-runs/fashion_mnist/main_job}
qforge=${QFORGE:-build/qforge}
mkdir -p "$run"

# FP32 accuracy and the FP32 ONNX file (for the size comparison).
"$qforge" eval --init "$fp32" --metrics-out "$run/fp32_eval.json" ${QAT_ARGS:-}
"$qforge" export --init "$fp32" --out "$run/fp32.onnx"

# One epoch of quant-aware training; evaluates the simulated int8 model and writes both exports.
"$qforge" qat --config configs/fashion_mnist/mobilenet_v1_qat.ini --init "$fp32" \
  --out "$run/qat" --metrics-out "$run/qat.json" ${QAT_ARGS:-}

# The int8 model in ONNX Runtime (tools/install_deps.sh installs it and says so when it cannot;
# the table then says n/a).
ort_json="$run/int8_ort.json"
if command -v node >/dev/null && [ -d tools/ort/node_modules/onnxruntime-node ]; then
  node tools/ort/run_onnx.js --model "$run/qat/model_int8.onnx" > "$ort_json"
else
  echo '{"top1": null}' > "$ort_json"
fi

/usr/bin/env python3 - "$run" <<'EOF'
import json, os, sys
run = sys.argv[1]
fp32 = json.load(open(f"{run}/fp32_eval.json"))
qat = json.load(open(f"{run}/qat.json"))
ort = json.load(open(f"{run}/int8_ort.json"))
s_fp32 = os.path.getsize(f"{run}/fp32.onnx")
s_int8 = os.path.getsize(f"{run}/qat/model_int8.onnx")
rows = [
    ("FP32 top-1", f"{fp32['top1']:.2f}%"),
    ("QAT (simulated int8) top-1", f"{qat['top1']:.2f}%"),
    ("int8 ONNX top-1 (qforge kernels)", f"{qat['int8_graph_top1']:.2f}%"),
    ("int8 ONNX top-1 (ONNX Runtime)",
     "n/a (onnxruntime-node missing)" if ort.get("top1") is None else f"{ort['top1']:.2f}%"),
    ("model size FP32 -> int8", f"{s_fp32 / 1e6:.2f} MB -> {s_int8 / 1e6:.2f} MB ({s_fp32 / s_int8:.1f}x)"),
]
w = max(len(r[0]) for r in rows)
print("\n".join(f"{a:<{w}}  {b}" for a, b in rows))
json.dump({"fp32_top1": fp32["top1"], "qat_top1": qat["top1"],
           "int8_qforge_top1": qat["int8_graph_top1"], "int8_ort_top1": ort.get("top1"),
           "fp32_onnx_bytes": s_fp32, "int8_onnx_bytes": s_int8},
          open(f"{run}/summary.json", "w"), indent=2)
EOF
