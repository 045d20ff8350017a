"""Interop sweep: torchvision 0.14 classifiers through qforge and ONNX Runtime, as a user would.

For each model (tools/torchvision_onnx.py: random init, BatchNorm statistics from a few batches,
eval mode, torch.onnx.export at opset 13):
  1. FP32: `qforge infer` and ONNX Runtime (tools/ort/ort_infer.js, default optimization level) on
     the same images; per-image cosine of the logits must be >= 0.999.
  2. `qforge ptq` (calibration on an image list made by build/qforge_make_imagelist, the first
     algorithm of --algos) writes the int8 file, which must pass tools/check_onnx.py (full checker,
     strict shape inference), keep the input and output names, and name its convolutions by torch
     module paths.
  3. The int8 file in ONNX Runtime at every graph optimization level (disabled, basic, extended,
     all) and in qforge's int8 engine: qforge against ONNX Runtime's default level must stay within
     the noise of ONNX Runtime against itself across its levels (mean over images of 1 - cosine,
     at most NOISE_FACTOR times the largest distance between two levels), and ONNX Runtime's
     profile must show every convolution and matmul on an int8 kernel (QLinearConv / ConvInteger,
     QGemm / QLinearMatMul / MatMulInteger).
  4. Every algorithm of --algos: how close qforge's int8 logits stay to the FP32 ones (mean
     per-image cosine, and top-1 agreement).

  /usr/bin/python3 tools/torchvision_sweep.py --build build --work DIR [--models a,b | --all]
      [--algos hist,KL,mse,abs_max,avg] [--images 16] [--calib-batches 4] [--calib-batch-size 8]
      [--size N] [--results FILE.jsonl] [--keep]
  /usr/bin/python3 tools/torchvision_sweep.py --table FILE.jsonl


Prints one line per model and appends one JSON object per model to --results; exits 1 if any model
failed a check (2 on bad usage). --table prints the results of a --results file as the Markdown
table of docs/interop.md (the last line per model wins). Models torchvision cannot export at opset 13 or that do not fit this
machine are listed in EXCLUDED with the reason. Run with Debian's /usr/bin/python3 (python3-torch,
python3-torchvision, python3-onnx, python3-numpy); ONNX Runtime for node in tools/ort (run
tools/install_deps.sh)."""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_onnx  # noqa: E402
import torchvision_onnx  # noqa: E402

# torchvision 0.14's classification models, in its documentation's order.
ALL_MODELS = (
    ["alexnet"]
    + [f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")]
    + ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
       "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2",
       "wide_resnet101_2", "squeezenet1_0", "squeezenet1_1", "densenet121", "densenet161",
       "densenet169", "densenet201", "googlenet", "inception_v3", "shufflenet_v2_x0_5",
       "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0", "mobilenet_v2",
       "mobilenet_v3_large", "mobilenet_v3_small", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0",
       "mnasnet1_3", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3"]
    + [f"regnet_{k}_{s}" for k, sizes in (("y", ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf",
                                                  "32gf", "128gf")),
                                           ("x", ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf",
                                                  "32gf")))
       for s in sizes])

EXCLUDED = {
    "regnet_y_128gf": "644 M parameters: its 2.6 GB of weights exceed protobuf's 2 GB limit for one "
                      "ONNX file (torch.onnx.export would need external data files)",
}

# The smallest input each model exports at: AdaptiveAvgPool2d((6, 6)) / ((7, 7)) of AlexNet and
# VGG exports only when its input size is a multiple of the output (224 gives 6x6 / 7x7);
# Inception v3 needs at least 75 pixels. EfficientNet-B3 runs at 96, the images' own size: at 64
# its last stages are 2x2 and BatchNorm statistics gathered from 32 such images leave channels of
# near-zero variance that amplify float32 rounding (PyTorch's own float32 forward is at cosine 0.957
# from its float64 forward on one image; at 96 px, 0.99998). Everything else runs at --size.
MIN_SIZE = {"alexnet": 224, "inception_v3": 96, "efficientnet_b3": 96,
            **{m: 224 for m in ALL_MODELS if m.startswith("vgg")}}

ORT_LEVELS = ("disabled", "basic", "extended", "all")
# How far qforge's int8 logits may sit from ONNX Runtime's default level, in units of the largest
# mean distance between two of ONNX Runtime's own levels. Both engines round a few values of the
# float accumulations differently (ONNX Runtime even between its levels, where float convolutions
# become int8 ones and Adds become QLinearAdd), and a randomly initialised network amplifies each
# flipped int8 value into the logits: the three engines (qforge, ONNX Runtime float simulation,
# ONNX Runtime int8) then sit at comparable distances from each other, none exactly equal.
NOISE_FACTOR = 3
INT8_CONV = ("QLinearConv", "ConvInteger", "NhwcQLinearConv")
INT8_MATMUL = ("QGemm", "QLinearMatMul", "MatMulInteger", "MatMulIntegerToFloat")


class Sweep:
    def __init__(self, a):
        self.a = a
        self.qforge = os.path.join(a.build, "qforge")
        self.ort = os.path.join(HERE, "ort", "ort_infer.js")
        self.data = os.path.join(a.work, "data")

    def run(self, cmd, what):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["(no message)"])[-1]
            raise RuntimeError(f"{what} failed (exit {r.returncode}): {last}")
        return r

    def make_data(self):
        if os.path.exists(os.path.join(self.data, "val_list.txt")):
            return
        need = self.a.calib_batches * self.a.calib_batch_size
        self.run([os.path.join(self.a.build, "qforge_make_imagelist"), "--out", self.data,
                  "--train", str(self.a.images + 32), "--val", str(need), "--width", "96",
                  "--height", "96", "--seed", "1"], "qforge_make_imagelist")

    def qforge_infer(self, model, inputs, out, int8=True):
        self.run([self.qforge, "infer", "--model", model, "--input", inputs, "--output", out,
                  "--threads", "2", "--int8", "true" if int8 else "false"], "qforge infer")
        return np.fromfile(out, dtype="<f4")

    def ort_infer(self, model, inputs, out, level="all", op_counts=None):
        cmd = ["node", self.ort, model, inputs, out, "--optimization", level]
        if op_counts:
            cmd += ["--op-counts", op_counts]
        self.run(cmd, f"ONNX Runtime ({level})")
        return np.fromfile(out, dtype="<f4")

    def ptq(self, model, size, algo, out):
        self.run([self.qforge, "ptq", "--model", model, "--data.format", "imagelist",
                  "--data.root", self.data, "--data.crop_size", str(size), "--data.resize_short",
                  str(size), "--ptq.calib_split", "test", "--algo", algo, "--batch-nums",
                  str(self.a.calib_batches), "--batch-size", str(self.a.calib_batch_size),
                  "--threads", "2", "--out", out], f"qforge ptq --algo {algo}")

    def model(self, name):
        size = max(self.a.size, MIN_SIZE.get(name, 0))
        d = os.path.join(self.a.work, name)
        os.makedirs(d, exist_ok=True)
        f = lambda s: os.path.join(d, s)  # noqa: E731
        r = {"model": name, "size": size, "images": self.a.images}
        t0 = time.time()
        torch.set_num_threads(2)
        net = torchvision_onnx.build(name, 0)
        torchvision_onnx.gather_bn_statistics(
            net, torchvision_onnx.load_images(self.data, 32, size, skip=self.a.images))
        torchvision_onnx.export(net, size, f("fp32.onnx"))
        torchvision_onnx.load_images(self.data, self.a.images, size).numpy().astype("<f4").tofile(
            f("input.bin"))
        modules = {n for n, _ in net.named_modules()}
        del net
        r["export_s"] = round(time.time() - t0, 1)

        qf = self.qforge_infer(f("fp32.onnx"), f("input.bin"), f("qf_fp32.bin"))
        classes = qf.size // self.a.images
        qf = qf.reshape(self.a.images, classes)
        ort = self.ort_infer(f("fp32.onnx"), f("input.bin"), f("ort_fp32.bin")).reshape(qf.shape)
        r["fp32_min_cos"] = min_cos(qf, ort)
        r["fp32_max_rel"] = float(np.abs(qf - ort).max() / np.abs(ort).max())

        problems = []
        if r["fp32_min_cos"] < 0.999:
            problems.append(f"FP32 cosine {r['fp32_min_cos']:.6f} < 0.999")
        for k, algo in enumerate(self.a.algos):
            int8 = f(f"int8_{algo}.onnx")
            self.ptq(f("fp32.onnx"), size, algo, int8)
            q8 = self.qforge_infer(int8, f("input.bin"), f(f"qf_int8_{algo}.bin")).reshape(qf.shape)
            r[f"top1_agree_{algo}"] = top1_agree(q8, qf)
            r[f"cos_{algo}"] = float(cosines(q8.astype(np.float64), qf.astype(np.float64)).mean())
            if k == 0:
                problems += self.int8_checks(int8, q8, modules, r, f)
        r["seconds"] = round(time.time() - t0, 1)
        r["ok"] = not problems
        r["problems"] = problems
        if not self.a.keep:
            shutil.rmtree(d)
        return r

    def int8_checks(self, int8, q8, modules, r, f):
        problems = []
        try:
            check_onnx.check(int8)
        except Exception as e:  # noqa: BLE001
            problems.append(f"check_onnx: {str(e).splitlines()[0]}")
        m = onnx.load(int8, load_external_data=False)
        if [i.name for i in m.graph.input] != ["input"] or [o.name for o in m.graph.output] != ["logits"]:
            problems.append("input/output names not kept: "
                            f"{[i.name for i in m.graph.input]} -> {[o.name for o in m.graph.output]}")
        convs = [n for n in m.graph.node if n.op_type == "Conv"]
        mats = [n for n in m.graph.node if n.op_type in ("Gemm", "MatMul")]
        foreign = [n.name for n in convs + mats if n.name not in modules]
        if foreign:
            problems.append(f"{len(foreign)} conv/matmul names are not torch module paths, e.g. "
                            f"'{foreign[0]}'")
        outs = {}
        for level in ORT_LEVELS:
            counts = f(f"ops_{level}.json") if level == "all" else None
            outs[level] = self.ort_infer(int8, f("input.bin"), f(f"ort_int8_{level}.bin"), level,
                                         counts).reshape(q8.shape)
        with open(f("ops_all.json")) as fh:
            ops = json.load(fh)
        r["convs"], r["matmuls"] = len(convs), len(mats)
        r["ort_int8_convs"] = sum(ops.get(o, 0) for o in INT8_CONV)
        r["ort_int8_matmuls"] = sum(ops.get(o, 0) for o in INT8_MATMUL)
        if r["ort_int8_convs"] != r["convs"] or r["ort_int8_matmuls"] != r["matmuls"]:
            problems.append(f"ONNX Runtime runs {r['ort_int8_convs']}/{r['convs']} convs and "
                            f"{r['ort_int8_matmuls']}/{r['matmuls']} matmuls in int8")
        pairs = [(a, b) for i, a in enumerate(ORT_LEVELS) for b in ORT_LEVELS[i + 1:]]
        r["ort_levels_dist"] = max(mean_dist(outs[a], outs[b]) for a, b in pairs)
        r["ort_levels_max_dist"] = max(max_dist(outs[a], outs[b]) for a, b in pairs)
        r["qforge_ort_dist"] = mean_dist(q8, outs["all"])
        r["qforge_ort_max_dist"] = max_dist(q8, outs["all"])
        r["qforge_ort_top1_agree"] = top1_agree(q8, outs["all"])
        if r["qforge_ort_dist"] > NOISE_FACTOR * r["ort_levels_dist"] + 1e-6:
            problems.append(f"qforge vs ONNX Runtime: mean 1 - cos {r['qforge_ort_dist']:.2e} > "
                            f"{NOISE_FACTOR} x ONNX Runtime's own spread {r['ort_levels_dist']:.2e}")
        return problems


def cosines(a, b):
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    return (a * b).sum(1) / np.maximum(na * nb, 1e-30)


def min_cos(a, b):
    return float(cosines(a.astype(np.float64), b.astype(np.float64)).min())


def max_dist(a, b):
    """The worst image's 1 - cosine."""
    return float(max(0.0, 1.0 - min_cos(a, b)))


def mean_dist(a, b):
    """The mean over images of 1 - cosine."""
    return float(max(0.0, 1.0 - cosines(a.astype(np.float64), b.astype(np.float64)).mean()))


def top1_agree(a, b):
    return float((a.argmax(1) == b.argmax(1)).mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="", help="qforge build folder (qforge, qforge_make_imagelist)")
    ap.add_argument("--work", default="", help="scratch folder")
    ap.add_argument("--models", default="", help="comma-separated torchvision names")
    ap.add_argument("--all", action="store_true", help="every model of ALL_MODELS not EXCLUDED")
    ap.add_argument("--algos", default="hist")
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--calib-batches", type=int, default=4)
    ap.add_argument("--calib-batch-size", type=int, default=8)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--results", default="")
    ap.add_argument("--keep", action="store_true", help="keep each model's files")
    ap.add_argument("--table", default="", help="print a --results file as a Markdown table")
    a = ap.parse_args()
    if a.table:
        print_table(a.table)
        return
    if not a.build or not a.work:
        ap.error("--build and --work are required (or --table FILE.jsonl alone)")
    a.algos = [s for s in a.algos.split(",") if s]
    names = [m for m in ALL_MODELS if m not in EXCLUDED] if a.all else [m for m in a.models.split(",") if m]
    unknown = [m for m in names if m not in ALL_MODELS]
    if not names or unknown or not a.algos:
        ap.error(f"name models with --models (known: {', '.join(ALL_MODELS)}) or --all; "
                 f"unknown: {unknown}")
    for m in EXCLUDED:
        print(f"excluded {m}: {EXCLUDED[m]}")
    os.makedirs(a.work, exist_ok=True)
    sweep = Sweep(a)
    sweep.make_data()
    failed = 0
    for name in names:
        try:
            r = sweep.model(name)
        except Exception as e:  # noqa: BLE001 - one model's failure must not stop the sweep
            r = {"model": name, "ok": False, "problems": [str(e).splitlines()[0]]}
        failed += not r["ok"]
        print(summary_line(r), flush=True)
        if a.results:
            with open(a.results, "a") as fh:
                fh.write(json.dumps(r) + "\n")
    sys.exit(1 if failed else 0)


def print_table(path):
    rows = {}
    with open(path) as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                rows[r["model"]] = r
    print("| model | px | FP32 min cos | int8 convs (ORT / model) | int8 matmuls | qforge vs ORT "
          "1 - cos | ORT levels 1 - cos | qforge vs ORT top-1 | int8 vs FP32 cos | int8 vs FP32 "
          "top-1 | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in [m for m in ALL_MODELS if m in rows]:
        r = rows[name]
        if "convs" not in r:
            print(f"| {name} | failed: {'; '.join(r['problems'])} |" + " |" * 10)
            continue
        algo = next(k[4:] for k in r if k.startswith("cos_"))
        print(f"| {name}{'' if r['ok'] else ' (FAIL)'} | {r['size']} | {r['fp32_min_cos']:.7f} | "
              f"{r['ort_int8_convs']} / {r['convs']} | {r['ort_int8_matmuls']} / {r['matmuls']} | "
              f"{r['qforge_ort_dist']:.1e} | {r['ort_levels_dist']:.1e} | "
              f"{r['qforge_ort_top1_agree']:.2f} | {r['cos_' + algo]:.3f} | "
              f"{r['top1_agree_' + algo]:.2f} | {r['seconds']:.0f} |")


def summary_line(r):
    if "fp32_min_cos" not in r:
        return f"FAIL {r['model']}: {'; '.join(r['problems'])}"
    s = (f"{'ok  ' if r['ok'] else 'FAIL'} {r['model']:<20} {r['size']:>3}px fp32 cos {r['fp32_min_cos']:.7f}")
    if "convs" in r:
        s += (f"  int8 convs {r['ort_int8_convs']}/{r['convs']} matmuls {r['ort_int8_matmuls']}/{r['matmuls']}"
              f"  qforge~ORT {r['qforge_ort_dist']:.1e} (ORT levels {r['ort_levels_dist']:.1e})")
    s += "".join(f"  {k[4:]} cos {v:.3f} top1 {r['top1_agree_' + k[4:]]:.2f}" for k, v in r.items()
                 if k.startswith("cos_"))
    s += f"  {r['seconds']:.0f}s"
    if r["problems"]:
        s += "  problems: " + "; ".join(r["problems"])
    return s


if __name__ == "__main__":
    main()
