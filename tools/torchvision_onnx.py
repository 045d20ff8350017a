"""A torchvision 0.14 classifier as a user brings it to qforge: random-initialised (torchvision's
own initialisers), BatchNorm running statistics gathered from a few batches of images, eval mode,
exported by torch.onnx.export at opset 13 with a dynamic batch. Also writes images for the same
model as raw float32 (what `qforge infer` and tools/ort/ort_infer.js read).

  /usr/bin/python3 tools/torchvision_onnx.py --model resnet18 --size 64 --data DIR \\
      --onnx out/resnet18.onnx --inputs out/resnet18.input.bin [--images 16] [--seed 0]

DIR is an image list made by build/qforge_make_imagelist (train/, train_list.txt): the first
--images training images, decoded with torchvision.io, resized to --size (bilinear) and normalized
with the ImageNet mean and std as qforge's imagelist evaluation does, are the inputs; the
BatchNorm statistics are the plain average over 4 batches of 8 of the same list's images (as
BatchNorm's momentum=None does). Names: input "input", output "logits", torch's module paths as
node names (qforge keeps them as parameter names).

Used by tools/torchvision_sweep.py. Run with Debian's /usr/bin/python3 (python3-torch,
python3-torchvision)."""
import argparse
import os
import sys

import torch
import torchvision
from torchvision.io import ImageReadMode, read_image

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


def build(name, seed):
    torch.manual_seed(seed)
    if name == "mobilenet_v1":  # not in torchvision: the PyTorch twin of qforge's (tools/torch_models.py)
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import torch_models
        return torch_models.build("mobilenet_v1", 1000, 3, 224, 1.0, "imagenet")
    kw = {}
    if name in ("googlenet", "inception_v3"):  # no auxiliary heads in eval; torchvision's init
        kw = dict(aux_logits=False, init_weights=True)
    if not hasattr(torchvision.models, name):
        sys.exit(f"torchvision_onnx: torchvision {torchvision.__version__} has no model '{name}'")
    return getattr(torchvision.models, name)(weights=None, **kw)


def load_images(root, count, size, skip=0):
    with open(os.path.join(root, "train_list.txt")) as f:
        paths = [line.rsplit(None, 1)[0] for line in f if line.strip()]
    if len(paths) < skip + count:
        sys.exit(f"torchvision_onnx: {root}/train_list.txt has {len(paths)} images, "
                 f"{skip + count} needed")
    out = []
    for p in paths[skip:skip + count]:
        x = read_image(os.path.join(root, p), ImageReadMode.RGB).float() / 255.0
        x = torch.nn.functional.interpolate(x[None], size=(size, size), mode="bilinear",
                                            align_corners=False, antialias=False)[0]
        out.append((x - MEAN) / STD)
    return torch.stack(out)


def gather_bn_statistics(model, images, batch=8):
    """Running statistics = the mean of the per-batch statistics (momentum None)."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        for i in range(0, len(images), batch):
            model(images[i:i + batch])
    model.eval()


def export(model, size, path):
    x = torch.zeros(1, 3, size, size)
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"],
                      output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model = build(a.model, a.seed)
    gather_bn_statistics(model, load_images(a.data, 32, a.size, skip=a.images))
    export(model, a.size, a.onnx)
    load_images(a.data, a.images, a.size).numpy().astype("<f4").tofile(a.inputs)


if __name__ == "__main__":
    main()
