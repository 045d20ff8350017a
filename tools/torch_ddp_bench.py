"""PyTorch peer of bench/dist_bench: the same model and training step, one process against N
processes under DistributedDataParallel (gloo, one thread each, the same batch per rank,
bucket_cap_mb as given), on synthetic data. Prints one JSON line:
  {"peer": "torch_ddp", "step_ms_1": ..., "step_ms_ddp": ..., "efficiency": ..., ...}
Usage: /usr/bin/python3 tools/torch_ddp_bench.py --model mobilenet_v1 --batch 32 --ranks 2
       [--size 28] [--steps 10] [--warmup 3] [--bucket_mb 4]"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402


def step_times(a, model, rank):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(17 + rank)
    x = torch.randn(a.batch, 1, a.size, a.size, generator=g)
    y = torch.randint(0, 10, (a.batch,), generator=g)
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def worker(rank, a, port, out):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=a.ranks)
    torch.manual_seed(0)
    model = torch_models.build(a.model, 10, 1, a.size, a.scale)
    ddp = torch.nn.parallel.DistributedDataParallel(model, bucket_cap_mb=a.bucket_mb)
    t = step_times(a, ddp, rank)
    if rank == 0:
        out.put(t)
    dist.barrier()
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="mobilenet_v1")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--bucket_mb", type=float, default=4)
    p.add_argument("--port", type=int, default=29517)
    a = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    one = step_times(a, torch_models.build(a.model, 10, 1, a.size, a.scale), 0)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(r, a, a.port, q)) for r in range(a.ranks)]
    for pr in procs:
        pr.start()
    ddp = q.get()
    for pr in procs:
        pr.join()
    print(json.dumps({"peer": "torch_ddp", "torch": torch.__version__, "model": a.model,
                      "ranks": a.ranks, "batch_per_rank": a.batch, "bucket_mb": a.bucket_mb,
                      "step_ms_1": 1e3 * one, "step_ms_ddp": 1e3 * ddp,
                      "efficiency": one / ddp}))


if __name__ == "__main__":
    main()
