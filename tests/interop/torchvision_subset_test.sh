#!/usr/bin/env bash
# torchvision classifiers in qforge and ONNX Runtime (ctest interop.torchvision_subset; arguments:
# the build folder and a scratch folder): tools/torchvision_sweep.py over a subset that covers what
# the full sweep (docs/interop.md) exercises — ShuffleNet V2 (Transpose, Slice, branch fan-out),
# ResNet-18 (residual blocks, a block input read by two convolutions), MobileNetV3-small
# (squeeze-excitation, HardSwish, conv outputs read by several nodes, two Gemms) — at 32x32 with a
# few images, to stay within a minute or two of CPU. Each model: FP32 logits match (cosine >=
# 0.999), `qforge ptq` writes a file that passes the checker and strict shape inference and keeps
# the source's names, ONNX Runtime runs every conv and matmul of it in int8, and qforge's int8
# engine stays within ONNX Runtime's own noise. Exit 77 (skip) without python3-torch,
# python3-torchvision, python3-onnx, node or onnxruntime-node.
set -euo pipefail
bin="$1"
work="$2"
src="$(cd "$(dirname "$0")/../.." && pwd)"
py=/usr/bin/python3
skip() { echo "SKIP: $1"; exit 77; }
$py -c "import torch, torchvision, onnx, numpy" 2>/dev/null ||
  skip "python3-torch, python3-torchvision, python3-onnx or python3-numpy is not installed (/usr/bin/python3)"
command -v node >/dev/null || skip "node is not installed"
[ -d "$src/tools/ort/node_modules/onnxruntime-node" ] || skip "onnxruntime-node is missing (tools/install_deps.sh)"
[ -d /usr/share/datasets/fashion-mnist ] || skip "Fashion-MNIST (dataset-fashion-mnist) is not installed"
rm -rf "$work"
exec $py "$src/tools/torchvision_sweep.py" --build "$bin" --work "$work" \
  --models shufflenet_v2_x0_5,resnet18,mobilenet_v3_small --size 32 --images 4 \
  --calib-batches 2 --calib-batch-size 4
