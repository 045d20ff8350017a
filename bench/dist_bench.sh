#!/bin/bash
# dist_bench.sh [BUILD_DIR]: data-parallel scaling on the CPU, 1 process vs 2 processes with one
# thread each, for LeNet and MobileNetV1 (Fashion-MNIST shapes, batch 32 per rank): qforge's
# bench/dist_bench under mpirun, and PyTorch DDP (gloo) from the same run beside it.
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
echo "machine load before: $(uptime)"
for model in lenet mobilenet_v1; do
  steps=30
  [ "$model" = mobilenet_v1 ] && steps=15
  mpirun --allow-run-as-root --oversubscribe -np 2 "$build/bench/dist_bench" --model "$model" \
    --batch 32 --steps "$steps"
  /usr/bin/python3 "$here/tools/torch_ddp_bench.py" --model "$model" --batch 32 --ranks 2 \
    --steps "$steps"
done
echo "machine load after: $(uptime)"
