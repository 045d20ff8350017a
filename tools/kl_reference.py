"""Independent KL (entropy) threshold searches over the histograms `qforge ptq --ptq.histograms_out`
writes, to check qforge's KL against PaddleSlim's algorithm on the same activations and to compare
it with TensorRT's published entropy calibration.

  /usr/bin/python3 tools/kl_reference.py HISTOGRAMS.json [--tolerance 0]

Both searches take the histogram of |x| (B bins of width w, counts H), and for each candidate
number of kept bins i: P = H[0:i] with the mass beyond (sum H[i:]) added to its last bin; Q = H[0:i]
merged into L levels and spread back evenly over the bins of each level that are non-zero in P;
KL(P || Q) with both normalised. The threshold is (i* + 0.5) w for the i* of least KL.
  paddle:    i from int((B - 1) / 2) up (so T >= about half of max|x|), L = 2^(bits-1) - 1 = 127,
             level g covers bins [g n, (g + 1) n) with n = floor(i / L), the last level the rest;
             the first minimum wins; if no i qualifies (H[i-1] == 0 for all), walk down from the
             start to the first non-empty bin.
  tensorrt:  i from L = 128 up to B - 1 (T down to 1/16 of the histogram's range; like Paddle's,
             the published loop never keeps all B bins), 128 levels of equal width i / 128
             (fractional bins split), zero Q bins where P is non-zero smoothed.
Prints, per tensor, qforge's KL threshold, the paddle reference's, the tensorrt one's and hist's
and abs_max's, relative to abs_max; then how many tensors differ between qforge and the paddle
reference by more than --tolerance (relative), and exits 1 if any does.
Needs python3-numpy (Debian)."""
import argparse
import json
import math
import sys

import numpy as np


def kl(p, q):
    """KL(p || q) of two non-negative vectors, each normalised to sum 1, over p's support."""
    p = p / p.sum()
    q = q / q.sum()
    m = p > 0
    return float(np.sum(p[m] * np.log(p[m] / q[m])))


def expand(h, p, starts, ends):
    """Each level [s, e) of h's counts spread evenly over the bins where p is non-zero."""
    q = np.zeros_like(p)
    for s, e in zip(starts, ends):
        nz = p[s:e] != 0
        if nz.any():
            q[s:e][nz] = h[s:e].sum() / nz.sum()
    return q


def paddle_kl(h, width, bits):
    b = len(h)
    levels = 2 ** (bits - 1) - 1
    start = int((b - 1) * 0.5)
    best, best_i = None, 0
    for i in range(max(start, 1), b):
        if h[i - 1] == 0:
            continue
        p = h[:i].copy()
        p[i - 1] += h[i:].sum()
        n = i // levels
        starts = [g * n for g in range(levels)]
        ends = [(g + 1) * n for g in range(levels - 1)] + [i]
        q = expand(h[:i], p, starts, ends)
        if np.any((p > 0) & (q == 0)):
            continue
        # Paddle normalises P by the whole histogram's mass, which P keeps (the tail is folded in).
        d = kl(p, q)
        if best is None or d < best:
            best, best_i = d, i
    if best is None:
        best_i = start
        while best_i > 0 and h[best_i] == 0:
            best_i -= 1
    return (best_i + 0.5) * width


def tensorrt_kl(h, width, levels=128, eps=1e-4):
    b = len(h)
    best, best_i = None, b
    for i in range(levels, b):
        p = h[:i].copy()
        p[i - 1] += h[i:].sum()
        # Quantize bins [0, i) into `levels` levels of equal width (i / levels bins each, a bin on a
        # boundary split in proportion), then spread each level over its non-empty bins.
        edges = np.linspace(0, i, levels + 1)
        cum = np.concatenate([[0.0], np.cumsum(h[:i])])
        mass = np.interp(edges, np.arange(i + 1), cum)
        q = np.zeros(i)
        for g in range(levels):
            s, e = int(math.floor(edges[g])), int(math.ceil(edges[g + 1]))
            nz = p[s:e] != 0
            if nz.any():
                q[s:e][nz] += (mass[g + 1] - mass[g]) / nz.sum()
        q[(p > 0) & (q == 0)] = eps  # smoothing: a candidate that loses mass is penalised, not void
        d = kl(p, q)
        if best is None or d < best:
            best, best_i = d, i
    return (best_i + 0.5) * width


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("histograms")
    ap.add_argument("--tolerance", type=float, default=0.0)
    ap.add_argument("--no-tensorrt", action="store_true", help="skip the (slower) TensorRT search")
    a = ap.parse_args()
    with open(a.histograms) as f:
        data = json.load(f)
    bits = data["bits"]
    rows, bad = [], 0
    for t in data["tensors"]:
        h = np.array(t["counts"], dtype=np.float64)
        if h.sum() == 0:
            continue
        width = (t["hi"] - t["lo"]) / len(h)
        ref = paddle_kl(h, width, bits)
        ours = t["thresholds"]["KL"]
        trt = float("nan") if a.no_tensorrt else tensorrt_kl(h, width)
        amax = t["thresholds"]["abs_max"] or 1.0
        differs = abs(ours - ref) > a.tolerance * max(abs(ref), 1e-30)
        bad += differs
        rows.append((t["name"], ours / amax, ref / amax, trt / amax, t["thresholds"]["hist"] / amax,
                     differs))
    print(f"{'tensor':<60} {'qforge KL':>9} {'paddle':>7} {'tensorrt':>8} {'hist':>6}  (T / abs_max)")
    for name, o, r, trt, hi, d in rows:
        print(f"{name[-60:]:<60} {o:9.4f} {r:7.4f} {trt:8.4f} {hi:6.3f}{'  DIFFERS' if d else ''}")
    col = lambda k: np.array([row[k] for row in rows])  # noqa: E731
    print(f"median T / abs_max over {len(rows)} tensors: qforge KL {np.median(col(1)):.3f}, "
          f"paddle {np.median(col(2)):.3f}, tensorrt {np.nanmedian(col(3)) if not a.no_tensorrt else float('nan'):.3f}, "
          f"hist {np.median(col(4)):.3f}")
    print(f"{bad} of {len(rows)} tensors: qforge's KL threshold differs from the paddle reference "
          f"by more than {a.tolerance} (relative)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
