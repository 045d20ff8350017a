"""PyTorch peer of bench/train_bench: the same model and training step (forward, cross-entropy,
backward, SGD with momentum) in eager mode, on synthetic data, printing one JSON line:
  {"model": ..., "batch": ..., "images_per_sec": median over timing windows,
   "peak_rss_mib": the process's peak resident memory, ...}
Usage: /usr/bin/python3 tools/torch_train_bench.py --model mobilenet_v1 --batch 64 --size 28
       --channels 1 --classes 10 [--form small|imagenet] [--threads 2] [--steps 20] [--windows 5]
       [--qat]
--model takes every qforge model name (tools/torch_models.NAMES); --form small (the default)
builds the small-input form exactly as qforge's model.form = small does."""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mobilenet_v1")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--form", choices=["small", "imagenet"], default="small")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=10, help="steps per timing window")
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--qat", action="store_true", help="eager QAT (torch.ao.quantization)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = torch_models.build(a.model, a.classes, a.channels, a.size, a.scale, a.form)
    model.train()
    if a.qat:
        import torch.ao.quantization as tq
        model.qconfig = tq.get_default_qat_qconfig("fbgemm")
        tq.prepare_qat(model, inplace=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=4e-5)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(a.batch, a.channels, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    rates = []
    for _ in range(a.windows):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        rates.append(a.batch * a.steps / (time.perf_counter() - t0))
    print(json.dumps({"model": a.model, "form": a.form, "batch": a.batch, "size": a.size,
                      "qat": a.qat,
                      "threads": a.threads, "torch": torch.__version__,
                      "images_per_sec": statistics.median(rates), "windows": rates,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
