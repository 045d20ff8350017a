#!/bin/bash
# quant_commands_test.sh QFORGE OUT: `qforge qat` and `qforge ptq` under `mpirun -np 2`, end to end
# on Fashion-MNIST with LeNet (one thread per rank):
#   - a short FP32 run (one process) gives the checkpoint both commands start from;
#   - qat on 2 ranks (batch 16 per rank, SyncBatchNorm asked for): exits 0, says the global batch,
#     prints each line once (rank 0 alone), evaluates all 10000 test images split over the ranks,
#     and rank 0 writes the run directory (config, metrics, checkpoint, both ONNX models);
#   - qat on 2 ranks with quant.sync_scales false reports how far the ranks' scales drifted apart;
#   - ptq with KL on 2 ranks writes the same thresholds (--metrics-out, compared exactly) and a
#     byte-identical ONNX file as one process calibrating on the same 5 batches of 8 (every other
#     algorithm is compared in process by ptq_mpi_test.cpp).
set -u
qforge=$1
out=$2
mpirun=${QF_MPIRUN:-mpirun}
. "$(dirname "$0")/../skip_unless.sh"
skip_unless command -v "$mpirun" -- "mpirun not found (Debian: openmpi-bin)"
skip_unless test -d /usr/share/datasets/fashion-mnist -- "Fashion-MNIST missing (Debian: dataset-fashion-mnist)"
rm -rf "$out"
mkdir -p "$out"
two=("$mpirun" --allow-run-as-root --oversubscribe -np 2)
fail=0
check() {  # check DESCRIPTION COMMAND...: runs COMMAND, reports FAIL with DESCRIPTION unless it succeeds
  local what=$1
  shift
  "$@" || { echo "FAIL: $what"; fail=1; }
}

"$qforge" train --model lenet --threads 1 --data.workers 0 --train.steps_per_epoch 20 \
  --train.eval_each_epoch false --out "$out/fp32" >"$out/fp32.log" 2>&1 ||
  { cat "$out/fp32.log"; echo "FAIL: the FP32 run"; exit 1; }
ckpt="$out/fp32/checkpoint"

# QAT on two ranks.
qat=(qat --init "$ckpt" --threads 1 --data.workers 0 --batch-size 16 --train.steps_per_epoch 4
     --data.eval_batch_size 500 --dist.sync_bn true)
"${two[@]}" "$qforge" "${qat[@]}" --out "$out/qat" --metrics-out "$out/qat.json" >"$out/qat.log" 2>&1
rc=$?
cat "$out/qat.log"
check "qat exit code $rc" [ "$rc" -eq 0 ]
check "global batch line" grep -q "batch 16 per rank x 2 rank(s) = global batch 32" "$out/qat.log"
check "one dist line (rank 0 prints alone)" [ "$(grep -c '^dist: 2 ranks' "$out/qat.log")" -eq 1 ]
check "activation scales synchronised" grep -q "activation scales synchronised" "$out/qat.log"
check "sharded evaluation counts every test image once" grep -q "(10000 images)" "$out/qat.log"
for f in config.ini metrics.jsonl checkpoint/model.safetensors checkpoint/state.json \
         model_int8.onnx model_float_grid.onnx; do
  check "rank 0 wrote $f" [ -s "$out/qat/$f" ]
done
check "metrics JSON with the int8 graph's accuracy" grep -q '"int8_graph_top1"' "$out/qat.json"

# Without synchronised scales: the drift is reported.
"${two[@]}" "$qforge" "${qat[@]}" --quant.sync_scales false --train.eval_each_epoch false \
  --out "$out/qat_unsynced" >"$out/qat_unsynced.log" 2>&1
rc=$?
grep -E "sync_scales|done:" "$out/qat_unsynced.log"
check "qat (sync_scales false) exit code $rc" [ "$rc" -eq 0 ]
check "drift reported" grep -qE "quantizer scales differ by up to [0-9.e+-]+% .*rank 0's are exported" \
  "$out/qat_unsynced.log"

# PTQ: one process and two ranks over the same batches.
for algo in KL; do
  ptq=(ptq --init "$ckpt" --threads 1 --algo "$algo" --batch-nums 5 --batch-size 8)
  "$qforge" "${ptq[@]}" --out "$out/one_$algo.onnx" --metrics-out "$out/one_$algo.json" \
    >"$out/one_$algo.log" 2>&1 || { cat "$out/one_$algo.log"; echo "FAIL: ptq $algo (one process)"; fail=1; }
  "${two[@]}" "$qforge" "${ptq[@]}" --out "$out/two_$algo.onnx" --metrics-out "$out/two_$algo.json" \
    >"$out/two_$algo.log" 2>&1 || { cat "$out/two_$algo.log"; echo "FAIL: ptq $algo (two ranks)"; fail=1; }
  grep "ptq:" "$out/two_$algo.log"
  check "ptq $algo: batches split over 2 ranks" grep -q "split over 2 ranks" "$out/two_$algo.log"
  check "ptq $algo: identical thresholds" /usr/bin/python3 - "$out/one_$algo.json" "$out/two_$algo.json" <<'EOF'
import json, sys
a, b = (json.load(open(p))["thresholds"] for p in sys.argv[1:3])
worst = max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-30) for k in a)
print(f"{len(a)} thresholds, largest relative difference {worst:.2e}")
sys.exit(0 if a == b and len(a) > 0 else 1)
EOF
  check "ptq $algo: identical ONNX files" cmp "$out/one_$algo.onnx" "$out/two_$algo.onnx"
done
[ "$fail" -eq 0 ] && echo "all checks passed"
exit $fail
