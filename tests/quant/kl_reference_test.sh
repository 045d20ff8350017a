#!/usr/bin/env bash
# qforge's KL calibration against an independent implementation of PaddleSlim's algorithm on the
# same activations (ctest quant.kl_matches_paddle_reference; arguments: the build folder and a
# scratch folder): a short LeNet training, `qforge ptq --algo KL --ptq.histograms_out`, then
# tools/kl_reference.py recomputes every threshold from the written histograms and must find
# qforge's to the last bit. Exit 77 (skip) without Fashion-MNIST or python3-numpy.
set -euo pipefail
bin="$1"
work="$2"
src="$(cd "$(dirname "$0")/../.." && pwd)"
py=/usr/bin/python3
skip() { echo "SKIP: $1"; exit 77; }
[ -d /usr/share/datasets/fashion-mnist ] || skip "Fashion-MNIST (dataset-fashion-mnist) is not installed"
$py -c "import numpy" 2>/dev/null || skip "python3-numpy is not installed (/usr/bin/python3)"
rm -rf "$work"
mkdir -p "$work"
"$bin/qforge" train --config "$src/configs/fashion_mnist/lenet.ini" --train.steps_per_epoch 20 \
  --train.epochs 1 --train.eval_each_epoch false --threads 2 --out "$work/fp32" > "$work/train.log" 2>&1
"$bin/qforge" ptq --init "$work/fp32/checkpoint" --algo KL --batch-nums 2 --batch-size 32 \
  --ptq.histograms_out "$work/histograms.json" --out "$work/kl.onnx" --threads 2 2> "$work/ptq.log"
$py "$src/tools/kl_reference.py" "$work/histograms.json" --tolerance 0 --no-tensorrt
