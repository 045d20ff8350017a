"""safetensors files from PyTorch without the safetensors package (Debian ships none): an 8-byte
little-endian header length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
{str: str}}, then the raw little-endian row-major data, tensors in name order. qforge reads these
files with io/safetensors.h, so a torchvision state dict becomes a qforge `--init` file unchanged.

Usage (Debian's /usr/bin/python3 with python3-torch):
  /usr/bin/python3 tools/torch_safetensors.py convert resnet50.pth resnet50.safetensors
      a state dict saved with torch.save (or a checkpoint dict holding one under "state_dict"
      or "model") to safetensors, names unchanged
  /usr/bin/python3 tools/torch_safetensors.py show resnet50.safetensors
      lists the tensors of a file
"""
import argparse
import json
import struct

import torch

_DTYPES = {
    torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
_TORCH = {v: k for k, v in _DTYPES.items()}


def save(path, tensors, metadata=None):
    """Writes {name: tensor} (any device, any strides) and an optional {str: str} metadata map."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        if t.dtype not in _DTYPES:
            raise ValueError(f"{name}: dtype {t.dtype} has no safetensors code")
        data = t.numpy().tobytes() if t.dtype != torch.bfloat16 else \
            t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the format pads the header to 8 bytes with spaces
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def load(path):
    """Reads a file written by save() or any safetensors writer: ({name: tensor}, metadata)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        begin, end = h["data_offsets"]
        dtype = _TORCH[h["dtype"]]
        buf = bytearray(data[begin:end])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(buf, dtype=torch.int16).view(torch.bfloat16) if buf else \
                torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(buf, dtype=dtype) if buf else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(h["shape"])
    return out, meta


def _state_dict_of(obj):
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            return obj[key]
    return obj


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert", help="torch.save'd state dict -> safetensors")
    c.add_argument("src")
    c.add_argument("dst")
    s = sub.add_parser("show", help="list the tensors of a safetensors file")
    s.add_argument("path")
    a = p.parse_args()
    if a.cmd == "convert":
        sd = _state_dict_of(torch.load(a.src, map_location="cpu"))
        save(a.dst, {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)},
             {"source": a.src})
        print(f"{a.dst}: {len(sd)} tensors")
    else:
        tensors, meta = load(a.path)
        for name, t in sorted(tensors.items()):
            print(f"{name:60s} {str(t.dtype)[6:]:8s} {list(t.shape)}")
        if meta:
            print("metadata:", meta)


if __name__ == "__main__":
    main()
