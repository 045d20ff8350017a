#!/bin/bash
# hung_rank_test.sh HANG_WORKER: rank 1 of a two-rank job hangs; the watchdog of rank 0 (timeout
# 3 s) must end the whole job within 30 s, non-zero, saying which rank waited in what.
set -u
worker=$1
mpirun=${QF_MPIRUN:-mpirun}
. "$(dirname "$0")/../skip_unless.sh"
skip_unless command -v "$mpirun" -- "mpirun not found (Debian: openmpi-bin)"
log=$(mktemp)
start=$(date +%s%N)
timeout 120 "$mpirun" --allow-run-as-root --oversubscribe -np 2 "$worker" 3 >"$log" 2>&1
rc=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
elapsed=$(printf "%d.%03d" $((elapsed_ms / 1000)) $((elapsed_ms % 1000)))
cat "$log"
echo "exit code $rc after $elapsed s"
fail=0
[ "$rc" -ne 0 ] || { echo "FAIL: the job ended with exit code 0"; fail=1; }
[ "$rc" -ne 124 ] || { echo "FAIL: the job hung until the test's own timeout"; fail=1; }
grep -q "rank 0 of 2: all_reduce_sum has waited" "$log" ||
  { echo "FAIL: no watchdog message"; fail=1; }
grep -q "must not" "$log" && { echo "FAIL: a collective returned without its peer"; fail=1; }
[ "$elapsed_ms" -lt 30000 ] || { echo "FAIL: took $elapsed s"; fail=1; }
rm -f "$log"
exit $fail
