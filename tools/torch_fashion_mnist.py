"""The PyTorch peer of `qforge train` on Fashion-MNIST: the same model (tools/torch_models.py, small
form), the same initialisation (MobileNetV1: Paddle's MSRA, uniform over fan-in, for
convolutions, N(0, 0.01) for the classifier, BatchNorm 1/0; LeNet: PyTorch's defaults), the same
data pipeline ((x - 127.5) / 127.5, shuffled, drop_last), the same SGD with momentum and L2
decay (optionally after clip_grad_norm_, qforge's optimizer.clip_norm), and the same per-step
schedule (linear warm-up, then cosine to 0), for one or more epochs; prints the test top-1.
Answers "is this accuracy what the model and recipe give, or is qforge off?". Run with Debian's
/usr/bin/python3 (python3-torch).

  /usr/bin/python3 tools/torch_fashion_mnist.py --model mobilenet_v1 --lr 0.06 --wd 1.5e-3 \
      --warmup 0.1 --nesterov --label-smoothing 0.1 [--epochs 1] [--batch 64] [--threads 2] [--seed 1]
"""
import argparse
import gzip
import math
import os
import struct
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402

ROOT = "/usr/share/datasets/fashion-mnist"


def read_idx(name):
    with gzip.open(os.path.join(ROOT, name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def init_like_qforge(model, name):
    if name == "lenet":  # PyTorch's default initialisers, as qforge's LeNet, conv biases at 0
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.zeros_(m.bias)
        return
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            if name == "mobilenet_v1":  # Paddle's MSRA(uniform): bound sqrt(6 / fan_in)
                nn.init.kaiming_uniform_(m.weight, a=0, mode="fan_in", nonlinearity="relu")
            else:
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mobilenet_v1")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--wd", type=float, default=0.0)
    p.add_argument("--warmup", type=float, default=0.0, help="warm-up epochs")
    p.add_argument("--schedule", default="cosine", choices=["cosine", "constant"])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--nesterov", action="store_true")
    p.add_argument("--clip-norm", type=float, default=0.0, help="global gradient-norm clip; 0: off")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    norm = lambda x: (x.float().unsqueeze(1) - 127.5) / 127.5
    xtr, ytr = norm(read_idx("train-images-idx3-ubyte.gz")), read_idx(
        "train-labels-idx1-ubyte.gz").long()
    xte, yte = norm(read_idx("t10k-images-idx3-ubyte.gz")), read_idx(
        "t10k-labels-idx1-ubyte.gz").long()
    model = torch_models.build(a.model, 10, 1, 28, form="small")
    init_like_qforge(model, a.model)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=a.wd,
                          nesterov=a.nesterov)
    steps_per_epoch = len(xtr) // a.batch
    total, warm = steps_per_epoch * a.epochs, int(a.warmup * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=a.label_smoothing)
    step, t0 = 0, time.time()
    for _ in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(steps_per_epoch):
            if step < warm:
                lr = a.lr * step / warm
            elif a.schedule == "cosine":
                lr = 0.5 * a.lr * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
            else:
                lr = a.lr
            for g in opt.param_groups:
                g["lr"] = lr
            idx = perm[i * a.batch:(i + 1) * a.batch]
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            if a.clip_norm > 0:
                nn.utils.clip_grad_norm_(model.parameters(), a.clip_norm)
            opt.step()
            step += 1
    train_s = time.time() - t0
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(xte), 500):
            correct += (model(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum().item()
    print(f"torch {a.model}: test top1 {100.0 * correct / len(xte):.2f}% "
          f"({step} steps, {step * a.batch / train_s:.1f} img/s)")


if __name__ == "__main__":
    main()
