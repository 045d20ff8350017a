#!/usr/bin/env bash
# End to end on an ImageNet-layout dataset (ctest imagelist_train_e2e; argument: the build folder).
# qforge_make_imagelist writes 40 training and 20 validation images from Fashion-MNIST (48x40
# JPEGs, some grayscale JPEGs and PNGs); `qforge train` runs LeNet on them for one epoch (crops of
# 32, random crops and flips for training, resize 36 + center crop for evaluation) and must finish
# with metrics.jsonl, a checkpoint and the final metrics; `qforge eval` of that checkpoint must
# score all 20 validation images. A list line with a label outside model.num_classes must end the
# run with exit code 2 and one line naming the list file and line.
set -euo pipefail
bin="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$bin/qforge_make_imagelist" --out "$work/data" --train 40 --val 20 --width 48 --height 40 \
  --gray-every 9 --png-every 7
data=(--data.format imagelist --data.root "$work/data" --data.crop_size 32 --data.resize_short 36
      --data.workers 2 --data.eval_batch_size 10 --run.device cpu --run.threads 2)

"$bin/qforge" train --model lenet --model.num_classes 10 --model.in_channels 3 \
  --model.image_size 32 --data.batch_size 8 --train.epochs 1 --run.out "$work/run" \
  --run.metrics_out "$work/train.json" "${data[@]}"
test -s "$work/run/metrics.jsonl" || { echo "no metrics.jsonl"; exit 1; }
grep -q '"top1"' "$work/train.json" || { echo "no top1 in the final metrics"; exit 1; }
test -d "$work/run/checkpoint" || { echo "no checkpoint"; exit 1; }

"$bin/qforge" eval --init "$work/run/checkpoint" --run.metrics_out "$work/eval.json" "${data[@]}"
grep -q '"count": 20' "$work/eval.json" || { echo "eval did not score 20 images"; cat "$work/eval.json"; exit 1; }

cp "$work/data/train_list.txt" "$work/data/bad_list.txt"
echo "train/bag/bag_00035.JPEG 10" >> "$work/data/bad_list.txt"
set +e
"$bin/qforge" train --model lenet --model.num_classes 10 --model.in_channels 3 \
  --model.image_size 32 --data.train_list bad_list.txt --run.out "$work/run2" "${data[@]}" \
  2> "$work/err.txt"
rc=$?
set -e
test "$rc" -eq 2 || { echo "bad list: exit code $rc, expected 2"; cat "$work/err.txt"; exit 1; }
# Bad input found at start-up: the error line is all there is on stderr (docs/robustness.md).
test "$(wc -l < "$work/err.txt")" -eq 1 || { echo "stderr is not one line"; cat "$work/err.txt"; exit 1; }
tail -n 1 "$work/err.txt" | grep -q "^qforge train: error: .*bad_list.txt:41: label 10 is outside 0..9" \
  || { echo "the last line is not the error"; cat "$work/err.txt"; exit 1; }
test "$(grep -c "error" "$work/err.txt")" -eq 1 || { echo "error is not one line"; cat "$work/err.txt"; exit 1; }
echo "imagelist end to end: train, eval and a bad list behaved"
