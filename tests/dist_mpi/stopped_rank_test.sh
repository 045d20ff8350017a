#!/bin/bash
# stopped_rank_test.sh QFORGE OUT: in a two-rank `qforge train` (dist.timeout_s 4), rank 1 is
# stopped (SIGSTOP) or killed (SIGKILL) at a moment from its very start to mid-training: 0, 0.3, 1
# and 2.5 s after launch (start-up, data loading or MPI start-up, depending on the machine's
# speed), and once rank 0 has logged training step 3. The job is long (40 epochs of 400 steps)
# so that even on an idle, fast machine it is still running when the signal comes. Whatever the
# moment, the job must end within the timeout plus a few seconds of the signal (12 s allowed, for a
# loaded machine; the times are printed), non-zero, with a message naming a rank: the waiting
# rank's watchdog for a stop, mpirun's report for a kill. No process of the job may be left.
set -u
qforge=$1
out=$2
mpirun=${QF_MPIRUN:-mpirun}
. "$(dirname "$0")/../skip_unless.sh"
skip_unless command -v "$mpirun" -- "mpirun not found (Debian: openmpi-bin)"
skip_unless test -d /usr/share/datasets/fashion-mnist -- "Fashion-MNIST missing (Debian: dataset-fashion-mnist)"
rm -rf "$out"
mkdir -p "$out"
args="train --model lenet --threads 1 --data.workers 0 --train.epochs 40 \
--train.steps_per_epoch 400 --train.log_every 1 --train.eval_each_epoch false --dist.timeout_s 4 --out $out/run"
fail=0
for how in STOP KILL; do
  for delay in 0 0.3 1 2.5 step3; do
    log="$out/log_${how}_$delay.txt"
    sigfile="$out/signal_${how}_$delay"
    tag="qf-stopped-rank-$$-$how-$delay"
    wait_for="sleep $delay"
    # Waits for step 3 only while rank 1 lives: a job that ends before it leaves no watcher behind.
    [ "$delay" = step3 ] &&
      wait_for="until grep -q ' step 3/' '$log'; do kill -0 \$\$ 2>/dev/null || exit; sleep 0.05; done"
    # Rank 1 is a shell that sets a timer on its own pid and then becomes qforge (exec keeps it).
    QF_TEST_TAG=$tag timeout 120 "$mpirun" --allow-run-as-root --oversubscribe -x QF_TEST_TAG \
      -np 1 "$qforge" $args : \
      -np 1 bash -c "( $wait_for; date +%s%N >'$sigfile'; kill -$how \$\$ ) & exec '$qforge' $args" \
      >"$log" 2>&1
    rc=$?
    end=$(date +%s%N)
    if [ ! -s "$sigfile" ]; then
      echo "FAIL: $how at $delay: the job ended (exit code $rc) before the signal"
      cat "$log"
      fail=1
      continue
    fi
    after_ms=$(( (end - $(cat "$sigfile")) / 1000000 ))
    echo "$how at $delay: exit code $rc, $after_ms ms after the signal: $(grep -m1 -o \
      "rank [0-9] of 2: [^;]*\|process rank 1[^.]*" "$log")"
    [ "$rc" -ne 0 ] || { echo "FAIL: exit code 0"; fail=1; }
    [ "$rc" -ne 124 ] || { echo "FAIL: the job hung"; fail=1; }
    [ "$after_ms" -lt 12000 ] || { echo "FAIL: took $after_ms ms after the signal"; fail=1; }
    if [ "$how" = STOP ]; then
      grep -q "rank 0 of 2: .* has waited" "$log" || { echo "FAIL: no watchdog message"; cat "$log"; fail=1; }
    else
      grep -q "rank 1 .*signal 9" "$log" || { echo "FAIL: no message about rank 1"; cat "$log"; fail=1; }
    fi
    sleep 0.5
    for env in /proc/[0-9]*/environ; do
      # Processes may end (or belong to another user) while we look: ignore those.
      { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qx "QF_TEST_TAG=$tag" || continue
      pid=${env#/proc/}
      pid=${pid%/environ}
      echo "FAIL: process $pid of the job is still there"
      kill -9 "$pid"
      fail=1
    done
  done
done
exit $fail
