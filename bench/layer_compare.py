#!/usr/bin/env python3
"""Sets qforge's time per convolution and classifier beside ONNX Runtime's, layer by layer.

    bench/layer_compare.py --qforge LOG... --ort PROFILE... --passes P --runs R

LOG: what `ONEDNN_VERBOSE=1 qforge bench ...` printed (P forward passes: warmup + iters);
PROFILE: a profile tools/ort/profile_onnx.js wrote (R timed runs after its warmup). Several of
each (rounds, alternating the engines) are pooled: each engine's median per layer over all its
timed passes (qforge's first pass also reorders the weights, so its warmup passes are dropped).
Layers are matched by shape (batch, channels in and out, spatial size in and out, kernel size,
groups), the k-th of a shape in one engine with the k-th in the other, since the engines do not
run a network's branches in the same order.
qforge's Winograd reorders (to and from the blocked layout) count in their convolution's time.
qforge runs with --fuse-blocks false (bench/layer_compare.sh): an inverted_residual block runs its
convolutions on strips, each thread its own, whose primitive times do not add up to wall time.
bench/layer_compare.sh runs both engines and this script.
"""
import argparse
import collections
import json
import re
import statistics
import sys

PROBLEM = re.compile(r"(?:g(\d+))?mb(\d+)_ic(\d+)oc(\d+)_ih(\d+)oh(\d+)kh(\d+)sh(\d+)")


def fail(msg):
    print(f"layer_compare: error: {msg}", file=sys.stderr)
    sys.exit(2)


def conv_key(n, c, k, h, oh, r, groups):
    return ("conv", n, c, k, h, oh, r, groups)


def describe(key):
    if key[0] == "fc":
        return f"linear {key[1]}x{key[2]} -> {key[3]}"
    _, n, c, k, h, oh, r, g = key
    kind = "dw" if g == c and g == k and g > 1 else f"{r}x{r}"
    stride = max(1, round(h / oh))
    return f"{kind} {c}->{k} {h}->{oh}{' s' + str(stride) if stride > 1 else ''} mb{n}"


def flops(key):
    if key[0] == "fc":
        return 2.0 * key[1] * key[2] * key[3]
    _, n, c, k, h, oh, r, g = key
    return 2.0 * n * k * oh * oh * (c // g) * r * r


def qforge_layers(path, passes, keep):
    """[(key, has_sum, [ms per kept pass])] in qforge's execution order."""
    steps = []  # (key or None for a reorder, sum, ms, winograd, dst plain)
    for line in open(path, errors="replace"):
        f = line.rstrip("\n").split(",")
        if len(f) < 10 or f[0] != "onednn_verbose" or f[1] != "exec":
            continue
        prim, ms = f[3], float(f[-1])
        if prim == "convolution":
            m = PROBLEM.search(f[-2])
            if not m:
                fail(f"cannot read the convolution {f[-2]}")
            g, n, c, k, h, oh, r, _ = (int(v) if v else 1 for v in m.groups())
            steps.append((conv_key(n, c, k, h, oh, r, g), "sum" in f[-4], ms,
                          "winograd" in f[-3], False))
        elif prim == "matmul":
            a, b, _ = f[-2].split(":")
            (mm, kk), (_, nn) = (map(int, a.split("x")), map(int, b.split("x")))
            steps.append((("fc", mm, kk, nn), False, ms, False, False))
        elif prim == "reorder":
            steps.append((None, False, ms, False, "dst_f32::blocked:acdb" in f[6]))
    layers = [s for s in steps if s[0] is not None]
    if not layers or len(layers) % passes:
        fail(f"{len(layers)} convolution and matmul runs in {path} do not split into {passes} passes")
    per = len(layers) // passes
    times = [[] for _ in range(per)]
    extra = 0.0  # a Winograd reorder's time, waiting for its convolution (before) or added after
    i = 0
    for s in steps:
        if s[0] is None:
            if i and layers[i - 1][3] and s[4]:
                times[(i - 1) % per][-1] += s[2]  # the reorder back from Winograd's layout
            else:
                extra += s[2]
            continue
        times[i % per].append(s[2] + (extra if s[3] else 0.0))
        extra = 0.0
        i += 1
    return [(layers[j][0], layers[j][1], times[j][-keep:]) for j in range(per)]


def ort_layers(path, runs):
    """([(key, has_sum, [ms per run])], [median ms of each other node], [ms per run])."""
    events = json.load(open(path))
    starts = sorted(e["ts"] for e in events if e.get("name") == "model_run")
    run_ms = [e["dur"] / 1000 for e in events if e.get("name") == "model_run"]
    if len(starts) < runs:
        fail(f"{path} holds {len(starts)} runs, fewer than --runs {runs}")
    t0 = starts[-runs]
    per_node = collections.OrderedDict()
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time") or e["ts"] < t0:
            continue
        a = e["args"]
        per_node.setdefault(e["name"], (a, []))[1].append(e["dur"] / 1000)
    layers, other = [], []
    for a, ms in per_node.values():
        shapes = [list(s.values())[0] for s in a["input_type_shape"]]
        out = list(a["output_type_shape"][0].values())[0]
        if a["op_name"] in ("Conv", "FusedConv") and len(shapes[0]) == 4:
            (n, c, h, _), (k, cg, r, _) = shapes[0], shapes[1]
            layers.append((conv_key(n, c, k, h, out[2], r, c // cg), len(shapes) > 3, ms))
        elif a["op_name"] in ("Gemm", "MatMul", "FusedGemm") and len(shapes[0]) == 2:
            layers.append((("fc", shapes[0][0], shapes[0][1], out[1]), False, ms))
        else:
            other.append(statistics.median(ms))
    return layers, other, run_ms[-runs:]


def pooled(runs):
    """One engine's rounds pooled: [(key, has_sum, median ms)] from [[(key, has_sum, [ms])]]."""
    first = runs[0]
    for r in runs[1:]:
        if [k for k, _, _ in r] != [k for k, _, _ in first]:
            fail("the rounds of one engine ran different layers")
    return [(k, s, statistics.median(t for r in runs for t in r[j][2]))
            for j, (k, s, _) in enumerate(first)]


def loose(key):
    """The key with channel counts rounded up to 16: ONNX Runtime's blocked layout pads a
    convolution's channels to its block (MobileNetV2's 24 become 32), and reports those."""
    if key[0] == "fc":
        return key
    up = lambda v: -(-v // 16) * 16
    _, n, c, k, h, oh, r, g = key
    return ("conv", n, up(c), up(k), h, oh, r, up(g) if g == c and g > 1 else g)


def pair(qf, ort):
    """[(key, qforge (sum, ms) or None, ORT (sum, ms) or None)] in qforge's order; a pair's key
    (which the FLOPs are counted on) is qforge's, the unpadded one."""
    waiting = collections.defaultdict(collections.deque)
    for key, s, ms in ort:
        waiting[loose(key)].append((key, s, ms))
    rows = []
    for key, s, ms in qf:
        match = waiting[loose(key)].popleft() if waiting[loose(key)] else None
        rows.append((key, (s, ms), match[1:] if match else None))
    rows += [(v[0], None, v[1:]) for q in waiting.values() for v in q]
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--qforge", nargs="+", required=True, help="qforge verbose logs")
    p.add_argument("--ort", nargs="+", required=True, help="ONNX Runtime profiles")
    p.add_argument("--passes", type=int, required=True, help="qforge passes: warmup + iters")
    p.add_argument("--runs", type=int, required=True, help="ORT timed runs")
    p.add_argument("--keep", type=int, default=0, help="qforge passes to keep (default: all but 2)")
    o = p.parse_args()
    if o.passes < 1 or o.runs < 1:
        fail("--passes and --runs must be positive")
    keep = o.keep or max(1, o.passes - 2)
    qf = pooled([qforge_layers(f, o.passes, keep) for f in o.qforge])
    profiles = [ort_layers(f, o.runs) for f in o.ort]
    ort = pooled([p[0] for p in profiles])
    ort_other = sum(statistics.median(p[1][i] for p in profiles) for i in range(len(profiles[0][1])))
    ort_run = statistics.median(t for p in profiles for t in p[2])
    totals = collections.defaultdict(lambda: [0.0, 0.0])
    print(f"{'layer':34s} {'qforge ms':>9s} {'ORT ms':>8s} {'ratio':>6s} {'qf GF/s':>8s} {'ORT GF/s':>8s}")
    for key, q, r in pair(qf, ort):
        qs = f"{q[1]:9.3f}" if q else f"{'-':>9s}"
        rs = f"{r[1]:8.3f}" if r else f"{'-':>8s}"
        ratio = f"{q[1] / r[1]:6.2f}" if q and r and r[1] > 0 else f"{'':6s}"
        gq = f"{flops(key) / q[1] / 1e6:8.0f}" if q else f"{'':8s}"
        gr = f"{flops(key) / r[1] / 1e6:8.0f}" if r else f"{'':8s}"
        mark = " +sum" if (q and q[0]) or (r and r[0]) else ""
        print(f"{describe(key) + mark:34s} {qs} {rs} {ratio} {gq} {gr}")
        kind = describe(key).split()[0]
        kind = "dense 3x3+" if kind not in ("1x1", "dw", "linear") else kind
        totals[kind][0] += q[1] if q else 0.0
        totals[kind][1] += r[1] if r else 0.0
    print()
    for kind, (a, b) in sorted(totals.items()):
        print(f"{'sum ' + kind:34s} {a:9.3f} {b:8.3f} {a / b if b else 0:6.2f}")
    qsum, rsum = sum(v[0] for v in totals.values()), sum(v[1] for v in totals.values())
    print(f"{'sum of the layers above':34s} {qsum:9.3f} {rsum:8.3f} {qsum / rsum:6.2f}")
    print(f"ONNX Runtime's other nodes (layout reorders, pooling, ...): {ort_other:.3f} ms; "
          f"its profiled run: {ort_run:.3f} ms (the profiler adds to each node)")


if __name__ == "__main__":
    main()
