"""PyTorch peer of bench/cuda_train_bench on one GPU: the same model and training step (forward,
cross-entropy, backward, SGD with momentum and weight decay 4e-5) on a synthetic batch resident
on the GPU, in eager mode, FP32 or eager QAT (torch.ao.quantization: FakeQuantize on weights,
per channel, and on activations, moving-average min/max — the default QAT qconfig), printing one
JSON line: {"model", "batch", "mode", "images_per_sec" (median over timing windows), ...}.

Usage (on the GPU machine, whose python3 has PyTorch with CUDA):
  python3 tools/gpu/torch_train_gpu.py --model mobilenet_v1 --batch 256 --mode fp32|qat
      [--format nchw|nhwc] [--tf32] [--steps 20] [--windows 5] [--warmup 5]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch_models  # noqa: E402  (tools/torch_models.py: qforge's models, then torchvision's)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mobilenet_v1")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--mode", choices=["fp32", "qat"], default="fp32")
    p.add_argument("--format", choices=["nchw", "nhwc"], default="nchw")
    p.add_argument("--tf32", action="store_true", help="TF32 in convolutions and matmuls")
    p.add_argument("--steps", type=int, default=20, help="steps per timing window")
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--warmup", type=int, default=5)
    a = p.parse_args()
    if not torch.cuda.is_available():
        sys.exit("no CUDA device visible to PyTorch")
    dev = torch.device("cuda:0")
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.manual_seed(0)
    model = torch_models.build(a.model, a.classes, 3, a.size, 1.0, "imagenet")
    model.train()
    if a.mode == "qat":
        import torch.ao.quantization as tq
        model.qconfig = tq.get_default_qat_qconfig("fbgemm")
        tq.prepare_qat(model, inplace=True)
    fmt = torch.channels_last if a.format == "nhwc" else torch.contiguous_format
    model = model.to(dev, memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=4e-5)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(a.batch, 3, a.size, a.size, device=dev).contiguous(memory_format=fmt)
    y = torch.randint(0, a.classes, (a.batch,), device=dev)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    torch.cuda.synchronize()
    rates = []
    for _ in range(a.windows):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        torch.cuda.synchronize()
        rates.append(a.batch * a.steps / (time.perf_counter() - t0))
    print(json.dumps({"model": a.model, "batch": a.batch, "mode": a.mode, "format": a.format,
                      "tf32": a.tf32, "gpu": torch.cuda.get_device_name(0),
                      "torch": torch.__version__, "images_per_sec": statistics.median(rates),
                      "windows": rates,
                      "peak_mib": torch.cuda.max_memory_allocated() / 2**20}))


if __name__ == "__main__":
    main()
