"""Top-1 accuracy of logits files against labels, and whether every file agrees with the first.

  top1_compare.py LABELS.bin TOLERANCE_PERCENT REFERENCE.bin OTHER.bin ...

Each file holds raw float32 logits (N, classes); LABELS.bin raw int32 (N). Prints one line per
file (top-1, difference to the reference in percentage points, images whose predicted class
differs) and exits 1 when a file's top-1 differs from the reference's by more than the tolerance,
or when more than five times the tolerance of the images change their predicted class (a file
that computes something else moves many predictions even where its accuracy happens to match)."""
import struct
import sys


def top1(path, labels):
    with open(path, "rb") as f:
        data = f.read()
    n = len(labels)
    values = struct.unpack("<%df" % (len(data) // 4), data)
    k = len(values) // n
    pred = [max(range(k), key=lambda c, i=i: values[i * k + c]) for i in range(n)]
    return 100.0 * sum(p == l for p, l in zip(pred, labels)) / n, pred


def main():
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    labels = struct.unpack("<%di" % (len(data) // 4), data)
    tol = float(sys.argv[2])
    ref, ref_pred = top1(sys.argv[3], labels)
    print(f"  {ref:6.2f}%  (reference)  {sys.argv[3]}")
    bad = 0
    for path in sys.argv[4:]:
        acc, pred = top1(path, labels)
        flips = sum(a != b for a, b in zip(pred, ref_pred))
        ok = abs(acc - ref) <= tol and 100.0 * flips / len(labels) <= 5 * tol
        bad += not ok
        print(f"  {acc:6.2f}%  {acc - ref:+.2f} pp, {flips} predictions differ{'' if ok else '  FAIL'}  {path}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
