#!/bin/bash
# disagreeing_ranks_test.sh QFORGE OUT: the two ranks of a `qforge train` job disagree on the model,
# on a configuration value, or on the size of their data (rank 1 reads a 600-image copy of
# Fashion-MNIST). Each time the job must end with exit code 2 and one error line, from the
# differing rank, saying what differs and both values — not an internal error from a truncated
# broadcast. A job whose ranks differ only in per-rank settings (threads, a data path holding the
# same data) trains.
set -u
qforge=$1
out=$2
mpirun=${QF_MPIRUN:-mpirun}
fmnist=/usr/share/datasets/fashion-mnist
. "$(dirname "$0")/../skip_unless.sh"
skip_unless command -v "$mpirun" -- "mpirun not found (Debian: openmpi-bin)"
skip_unless test -d $fmnist -- "Fashion-MNIST missing (Debian: dataset-fashion-mnist)"
skip_unless command -v python3 -- "python3 missing"
rm -rf "$out"
mkdir -p "$out/small" "$out/copy"
# A 600-image training split and the full test split; and a plain copy of the whole dataset.
python3 - "$fmnist" "$out/small" <<'PY'
import gzip, os, shutil, struct, sys
src, dst = sys.argv[1], sys.argv[2]
def read(name):
    for n in (name, name + ".gz"):
        p = os.path.join(src, n)
        if os.path.exists(p):
            return (gzip.open if n.endswith(".gz") else open)(p, "rb").read()
images, labels = read("train-images-idx3-ubyte"), read("train-labels-idx1-ubyte")
_, _, rows, cols = struct.unpack(">IIII", images[:16])
n = 600
open(os.path.join(dst, "train-images-idx3-ubyte"), "wb").write(
    struct.pack(">IIII", 2051, n, rows, cols) + images[16:16 + n * rows * cols])
open(os.path.join(dst, "train-labels-idx1-ubyte"), "wb").write(
    struct.pack(">II", 2049, n) + labels[8:8 + n])
for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
    open(os.path.join(dst, name), "wb").write(read(name))
PY
cp -r $fmnist/. "$out/copy/"
common="train --model lenet --data.workers 0 --train.steps_per_epoch 2 --train.eval_each_epoch false \
--dist.timeout_s 20 --out $out/run"
fail=0
check() {  # check NAME EXPECTED_RC PATTERN RANK1_ARGS...
  local name=$1 want=$2 pattern=$3
  shift 3
  local log="$out/log_$name.txt"
  timeout 120 "$mpirun" --allow-run-as-root --oversubscribe \
    -np 1 "$qforge" $common --threads 1 : -np 1 "$qforge" $common "$@" >"$log" 2>&1
  local rc=$?
  local errors
  errors=$(grep -c "qforge train: .*error" "$log")
  echo "$name: exit code $rc: $(grep -m1 "qforge train: .*error" "$log")"
  [ "$rc" -eq "$want" ] || { echo "FAIL: $name: exit code $rc, expected $want"; cat "$log"; fail=1; }
  if [ "$want" -ne 0 ]; then
    [ "$errors" -eq 1 ] || { echo "FAIL: $name: $errors error lines"; cat "$log"; fail=1; }
    grep -q "qforge train: error (rank 1 of 2): ranks disagree: $pattern" "$log" ||
      { echo "FAIL: $name: no message matching '$pattern'"; fail=1; }
  fi
}
check model 2 "rank 1 has model.name = mobilenet_v1, rank 0 has model.name = lenet" \
  --threads 1 --model mobilenet_v1
check config 2 "rank 1 has optimizer.lr = 0.5, rank 0 has optimizer.lr = 0.01" \
  --threads 1 --optimizer.lr 0.5
check data 2 "rank 1 has training set = 600 samples of 1x28x28, 10 classes, rank 0 has training set = 60000 samples" \
  --threads 1 --data.root "$out/small"
check per_rank_settings 0 "" --threads 2 --data.root "$out/copy"
exit $fail
