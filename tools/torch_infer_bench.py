"""PyTorch peer of `qforge bench` for bench/load_bench.sh: eager inference (eval mode, no_grad) of a
model at its ImageNet form (3x224x224, 1000 classes, random-initialised), printing one JSON line
{"model", "batch", "threads", "images_per_sec": from the median time per batch, "torch"}.
Usage: /usr/bin/python3 tools/torch_infer_bench.py --model mobilenet_v1 [--batch 16] [--threads 2]
       [--runs 10] [--warmup 2]"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mobilenet_v1")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = torch_models.build(a.model, 1000, 3, 224, 1.0, "imagenet").eval()
    x = torch.randn(a.batch, 3, 224, 224)
    times = []
    with torch.no_grad():
        for i in range(a.warmup + a.runs):
            t0 = time.perf_counter()
            model(x)
            if i >= a.warmup:
                times.append(time.perf_counter() - t0)
    print(json.dumps({"model": a.model, "batch": a.batch, "threads": a.threads,
                      "images_per_sec": a.batch / statistics.median(times),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
