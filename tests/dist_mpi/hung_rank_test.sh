#!/bin/bash
# hung_rank_test.sh HANG_WORKER [MODE [EXPECTED [HOW]]]: rank 1 of a two-rank job stops at the
# moment MODE names (hang_worker.cpp; default: instead of a collective); rank 0's watchdog
# (timeout 3 s) must end the whole job within the timeout plus a few seconds (15 s in all, for a
# loaded machine; the time is printed), non-zero, with a message naming rank 0 and what it waited
# in (EXPECTED, an extended grep pattern), and leave no process behind.
set -u
worker=$1
mode=${2:-collective}
expected=${3:-"rank 0 of 2: all_reduce_sum has waited"}
how=${4:-stop}
mpirun=${QF_MPIRUN:-mpirun}
. "$(dirname "$0")/../skip_unless.sh"
skip_unless command -v "$mpirun" -- "mpirun not found (Debian: openmpi-bin)"
log=$(mktemp)
tag="qf-hung-rank-$$-$RANDOM"  # marks the job's processes, to find any left behind
start=$(date +%s%N)
QF_TEST_TAG=$tag timeout 120 "$mpirun" --allow-run-as-root --oversubscribe -x QF_TEST_TAG -np 2 \
  "$worker" 3 "$mode" "$how" >"$log" 2>&1
rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
elapsed=$(printf "%d.%03d" $((elapsed_ms / 1000)) $((elapsed_ms % 1000)))
cat "$log"
echo "mode $mode: exit code $rc after $elapsed s"
fail=0
[ "$rc" -ne 0 ] || { echo "FAIL: the job ended with exit code 0"; fail=1; }
[ "$rc" -ne 124 ] || { echo "FAIL: the job hung until the test's own timeout"; fail=1; }
grep -qE "$expected" "$log" || { echo "FAIL: no message matching '$expected'"; fail=1; }
grep -q "must not" "$log" && { echo "FAIL: a collective returned without its peer"; fail=1; }
[ "$elapsed_ms" -lt 15000 ] || { echo "FAIL: took $elapsed s (timeout 3 s)"; fail=1; }
sleep 0.5
for env in /proc/[0-9]*/environ; do
  { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qx "QF_TEST_TAG=$tag" || continue
  pid=${env#/proc/}
  pid=${pid%/environ}
  echo "FAIL: process $pid of the job is still there"
  kill -9 "$pid"
  fail=1
done
rm -f "$log"
exit $fail
