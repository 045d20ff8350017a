"""Reference outputs of one PyTorch model for tests/models/torchvision_match_test.cpp.

For each --case FORM:SIZE:BATCH[:eval] (one process, so torch is imported once per model), builds
the model with tools/torch_models.build (torchvision 0.14 for the torchvision families) in that
form (small: 1 channel, 10 classes; imagenet: 3 channels, 1000 classes), gives it random weights
(biases and BN affine parameters too) and random but plausible BN running statistics, and writes
into --out/FORM:
  weights.safetensors  the float32 state dict, names unchanged (num_batches_tracked included)
  io.safetensors       input   (N, C, S, S) float32, label (N) int32,
                       logits  (N, K) float64: eval-mode forward,
                       and unless the case is eval-only, for a train-mode step (batch
                       statistics):
                       loss    (1) float64, cross-entropy (mean) of the train-mode logits,
                       grad.<param>  float64 d loss / d param for a few parameters,
                       after.<bn>.running_mean / .running_var  float64, the statistics the
                                     step leaves (checks the momentum convention)
                       noise.<key>   (1) float64: for each compared tensor, how much float32-level
                                     changes move it: the largest max|t - ref| / max|ref| of the
                                     same step in float32, and in float32 on two inputs perturbed
                                     by a relative 1e-5 (the size of float32 forward errors
                                     through these networks: a ReLU whose input is that close to
                                     0 flips, and every gradient before it changes visibly)
                       metadata: grads, bn (comma-separated names), dtype of the reference.
The reference runs in float64 from the float32 weights (exact), except for eval-only cases (for
models too slow in float64 on a CPU): then it is a second float32 computation.
Dropout modules are kept in eval mode during the train-mode step (identity): PyTorch's random
masks cannot be reproduced, and qforge's test graph sets the dropout ratio to 0 for the same step.
"""
import argparse
import copy
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import torch_models  # noqa: E402
import torch_safetensors  # noqa: E402


def randomize(model, gen, calib):
    """Random biases and BN affine parameters; BN running statistics from one train-mode pass
    on `calib` (momentum 1), then perturbed so they differ from any batch's statistics."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.rand(p.shape, generator=gen) * 0.2 - 0.1)
        for m in bns:
            m.weight.copy_(torch.rand(m.weight.shape, generator=gen) + 0.5)
        saved = [m.momentum for m in bns]
        for m in bns:
            m.momentum = 1.0
        model.train()
        model(calib)
        for m, mom in zip(bns, saved):
            m.momentum = mom
            std = m.running_var.sqrt()
            m.running_mean.add_(0.1 * std * torch.randn(m.running_mean.shape, generator=gen))
            m.running_var.mul_(0.7 + 0.6 * torch.rand(m.running_var.shape, generator=gen))


def pick(params, extra_suffix):
    """A few parameters spread over the network: first, last, quartiles, and the first whose
    name ends with `extra_suffix` (e.g. an SE layer). Parameters whose gradient vanishes
    structurally (a conv bias before a train-mode BatchNorm) are passed over: their values are
    rounding noise on both sides."""
    scale = max(float(p.grad.abs().max()) for p in params.values())
    names = [k for k, p in params.items() if float(p.grad.abs().max()) > 1e-6 * scale]
    n = len(names)
    idx = sorted({0, 1, n // 4, n // 2, (3 * n) // 4, n - 2, n - 1})
    chosen = [names[i] for i in idx]
    for name in names:
        if extra_suffix and name.endswith(extra_suffix) and name not in chosen:
            chosen.append(name)
            break
    return chosen


def train_step(model, x, y):
    """One train-mode forward and backward (batch statistics; dropout as the identity)."""
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.eval()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return model, loss


def select(step, grads, bns):
    """The compared tensors of a step, as float64: loss, gradients, BN statistics after it."""
    model, loss = step
    params, modules = dict(model.named_parameters()), dict(model.named_modules())
    out = {"loss": loss.detach().double().reshape(1)}
    for name in grads:
        out["grad." + name] = params[name].grad.double()
    for name in bns:
        out[f"after.{name}.running_mean"] = modules[name].running_mean.double()
        out[f"after.{name}.running_var"] = modules[name].running_var.double()
    return out


def run_case(a, form, size, batch, eval_only):
    channels, classes = (1, 10) if form == "small" else (3, 1000)
    out = os.path.join(a.out, form)
    torch.manual_seed(20261124)
    gen = torch.Generator().manual_seed(7)
    model = torch_models.build(a.model, classes, channels, size, 1.0, form)
    shape = (batch, channels, size, size)
    randomize(model, gen, torch.randn((max(batch, 4),) + shape[1:], generator=gen))
    os.makedirs(out, exist_ok=True)
    torch_safetensors.save(os.path.join(out, "weights.safetensors"), model.state_dict())

    x = torch.randn(shape, generator=gen)
    y = torch.randint(0, classes, (batch,), generator=gen)
    dt = torch.float32 if eval_only else torch.float64
    ref = copy.deepcopy(model).to(dt)
    io = {"input": x, "label": y.to(torch.int32)}
    meta = {"dtype": str(dt)[6:], "model": a.model, "form": form}
    ref.eval()
    with torch.no_grad():
        io["logits"] = ref(x.to(dt)).double()
    if not eval_only:
        step = train_step(ref, x.to(dt), y)
        params = dict(ref.named_parameters())
        grads = pick(params, "fc1.weight")
        bns = [n for n, m in ref.named_modules() if isinstance(m, torch.nn.BatchNorm2d)]
        bns = [bns[0], bns[len(bns) // 2], bns[-1]] if bns else []
        want = select(step, grads, bns)
        io.update(want)
        noise = {k: 0.0 for k in want}
        trials = [x] + [x * (1 + 1e-5 * torch.randn(shape, generator=gen)) for _ in range(2)]
        for xin in trials:
            got = select(train_step(copy.deepcopy(model), xin, y), grads, bns)
            for k in want:
                e = float((got[k] - want[k]).abs().max() / want[k].abs().max())
                noise[k] = max(noise[k], e)
        for k, e in noise.items():
            io["noise." + k] = torch.tensor([e], dtype=torch.float64)
        meta["grads"] = ",".join(grads)
        meta["bn"] = ",".join(bns)
    torch_safetensors.save(os.path.join(out, "io.safetensors"), io, meta)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--case", action="append", required=True,
                   help="FORM:SIZE:BATCH, or FORM:SIZE:BATCH:eval for eval mode only")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    for case in a.case:
        f = case.split(":")
        if len(f) not in (3, 4) or f[0] not in ("small", "imagenet") or f[3:] not in ([], ["eval"]):
            p.error(f"--case {case}: expected FORM:SIZE:BATCH[:eval]")
        run_case(a, f[0], int(f[1]), int(f[2]), len(f) == 4)


if __name__ == "__main__":
    main()
