#!/bin/bash
# failing_rank_test.sh QFORGE OUT: rank 1 of a two-rank `qforge train` hits an input error (its
# dataset folder does not exist) while rank 0 goes on into the first collective. The job must end
# within 30 s, non-zero, with rank 1's message.
set -u
qforge=$1
out=$2
mpirun=${QF_MPIRUN:-mpirun}
. "$(dirname "$0")/../skip_unless.sh"
skip_unless command -v "$mpirun" -- "mpirun not found (Debian: openmpi-bin)"
skip_unless test -d /usr/share/datasets/fashion-mnist -- "Fashion-MNIST missing (Debian: dataset-fashion-mnist)"
rm -rf "$out"
mkdir -p "$out"
common=(train --model lenet --threads 1 --data.workers 0 --train.steps_per_epoch 5 --out "$out/run")
start=$(date +%s%N)
timeout 120 "$mpirun" --allow-run-as-root --oversubscribe \
  -np 1 "$qforge" "${common[@]}" : \
  -np 1 "$qforge" "${common[@]}" --data.root "$out/no_such_dataset" >"$out/log.txt" 2>&1
rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
elapsed=$(printf "%d.%03d" $((elapsed_ms / 1000)) $((elapsed_ms % 1000)))
cat "$out/log.txt"
echo "exit code $rc after $elapsed s"
fail=0
[ "$rc" -ne 0 ] || { echo "FAIL: exit code 0"; fail=1; }
[ "$rc" -ne 124 ] || { echo "FAIL: the job hung"; fail=1; }
grep -q "qforge train: error (rank 1 of 2):.*no_such_dataset" "$out/log.txt" ||
  { echo "FAIL: rank 1's message is missing"; fail=1; }
[ "$elapsed_ms" -lt 30000 ] || { echo "FAIL: took $elapsed s"; fail=1; }
exit $fail
