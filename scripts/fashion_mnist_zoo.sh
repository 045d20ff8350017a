#!/usr/bin/env bash
# One epoch of each small-form model on Fashion-MNIST (configs/fashion_mnist/<model>.ini), one
# after the other, and a table of the test top-1 each reaches (the model zoo's accuracy check:
# every model should pass 85%). Not a test: on a 2-core CPU the whole list takes hours.
#   scripts/fashion_mnist_zoo.sh [OUT_DIR] [MODEL ...]     (default: runs/fashion_mnist_zoo, all)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/fashion_mnist_zoo}
shift || true
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  models=(lenet mobilenet_v1 mobilenet_v2 mobilenet_v3_large mobilenet_v3_small resnet18
          resnet34 resnet50 vgg16_bn)
fi
mkdir -p "$out"
for m in "${models[@]}"; do
  echo "== $m: $(date -u +%FT%TZ), $(uptime)"
  ./build/qforge train --config "configs/fashion_mnist/$m.ini" --run.out "$out/$m" \
    --metrics-out "$out/$m/final.json" >"$out/$m.log" 2>&1
  tail -1 "$out/$m.log"
done
echo
printf "%-20s %8s %12s\n" model top1 "train img/s"
for m in "${models[@]}"; do
  /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \
print('%-20s %7.2f%% %12.1f' % (sys.argv[2], r['top1'], r['images_per_sec']))" \
    "$out/$m/final.json" "$m"
done
