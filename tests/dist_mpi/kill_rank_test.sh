#!/bin/bash
# kill_rank_test.sh QFORGE OUT: two ranks train LeNet on Fashion-MNIST; once both are past step 3,
# rank 1 is killed with SIGKILL (no chance to say anything). mpirun must end the whole job within
# 30 s, non-zero, saying that rank 1 was killed; rank 0 must not hang in its next collective. The
# job is long (40 epochs) so that it cannot end by itself between step 3 and the kill.
set -u
qforge=$1
out=$2
mpirun=${QF_MPIRUN:-mpirun}
. "$(dirname "$0")/../skip_unless.sh"
skip_unless command -v "$mpirun" -- "mpirun not found (Debian: openmpi-bin)"
skip_unless test -d /usr/share/datasets/fashion-mnist -- "Fashion-MNIST missing (Debian: dataset-fashion-mnist)"
rm -rf "$out"
mkdir -p "$out"
log="$out/log.txt"
"$mpirun" --allow-run-as-root --oversubscribe -np 2 "$qforge" train --model lenet --threads 1 \
  --data.workers 0 --batch-size 32 --train.epochs 40 --train.log_every 1 \
  --train.eval_each_epoch false --out "$out/run" >"$log" 2>&1 &
job=$!
for _ in $(seq 1 360); do
  grep -q " step 3/" "$log" && break
  kill -0 "$job" 2>/dev/null || break
  sleep 0.5
done
if ! grep -q " step 3/" "$log"; then
  echo "FAIL: training did not reach step 3"
  cat "$log"
  kill "$job" 2>/dev/null
  exit 1
fi
victim=""
for p in $(pgrep -P "$job"); do
  tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$p
done
if [ -z "$victim" ]; then
  echo "FAIL: could not find rank 1 among mpirun's children"
  kill "$job" 2>/dev/null
  exit 1
fi
start=$(date +%s%N)
kill -9 "$victim"
# Bounded wait: the job must be gone within 30 s.
for _ in $(seq 1 300); do
  kill -0 "$job" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$job" 2>/dev/null; then
  echo "FAIL: the job still runs 30 s after rank 1 was killed"
  kill "$job"
  cat "$log"
  exit 1
fi
wait "$job"
rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
elapsed=$(printf "%d.%03d" $((elapsed_ms / 1000)) $((elapsed_ms % 1000)))
tail -20 "$log"
echo "exit code $rc, $elapsed s after the kill"
fail=0
[ "$rc" -ne 0 ] || { echo "FAIL: exit code 0"; fail=1; }
grep -q "rank 1 .*exited on signal 9" "$log" || { echo "FAIL: no message about rank 1"; fail=1; }
exit $fail
