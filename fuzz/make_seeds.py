#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/seed_*), small valid inputs
that cover each parser's features, so that libFuzzer's mutations start from files that get deep.

    /usr/bin/python3 fuzz/make_seeds.py        # needs python3-onnx (Debian), nothing else

Inputs that once made a target fail are kept beside the seeds as regression_* files (written by
hand from libFuzzer's crash files, never by this script).
"""
import gzip
import json
import os
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed_" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# --- ONNX ---------------------------------------------------------------------------------------

def tensor(name, shape, dtype=np.float32, scale=0.5):
    n = int(np.prod(shape)) if shape else 1
    values = (np.arange(n) % 7 - 3).astype(np.float64) * scale
    return numpy_helper.from_array(values.astype(dtype).reshape(shape), name)


def model(nodes, inits, inp, out, opset=13):
    g = helper.make_graph(nodes, "seed", [inp], [out], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="qforge-seed")
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m.SerializeToString()


def image_input(c=1, h=8, w=8):
    return helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", c, h, w])


def logits(n=3):
    return helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", n])


def onnx_seeds():
    # Conv + Relu + MaxPool + Flatten + Gemm (torch.onnx's plain CNN).
    write("onnx_import", "cnn.onnx", model(
        [helper.make_node("Conv", ["x", "c.weight", "c.bias"], ["a"], pads=[1, 1, 1, 1],
                          name="/features/features.0/Conv"),
         helper.make_node("Relu", ["a"], ["b"]),
         helper.make_node("MaxPool", ["b"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
         helper.make_node("Flatten", ["p"], ["f"], axis=1),
         helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], transB=1)],
        [tensor("c.weight", [2, 1, 3, 3]), tensor("c.bias", [2]), tensor("fc.weight", [3, 32]),
         tensor("fc.bias", [3])], image_input(), logits()))

    # auto_pad, strided and grouped convolutions, BatchNorm, the activations, average pooling.
    write("onnx_import", "mobile.onnx", model(
        [helper.make_node("Conv", ["x", "w1"], ["a"], strides=[2, 2], auto_pad="SAME_UPPER"),
         helper.make_node("BatchNormalization", ["a", "g", "b", "m", "v"], ["bn"], epsilon=1e-5),
         helper.make_node("Clip", ["bn", "lo", "hi"], ["r6"]),
         helper.make_node("Conv", ["r6", "dw"], ["d"], group=4, pads=[1, 1, 1, 1],
                          dilations=[1, 1]),
         helper.make_node("HardSwish", ["d"], ["hs"]),
         helper.make_node("HardSigmoid", ["hs"], ["hsig"], alpha=0.2, beta=0.5),
         helper.make_node("Mul", ["hs", "hsig"], ["se"]),
         helper.make_node("Add", ["se", "bias4"], ["add"]),
         helper.make_node("Sigmoid", ["add"], ["sg"]),
         helper.make_node("AveragePool", ["sg"], ["ap"], kernel_shape=[3, 3], strides=[1, 1],
                          auto_pad="SAME_LOWER", count_include_pad=1),
         helper.make_node("GlobalAveragePool", ["ap"], ["gap"]),
         helper.make_node("Flatten", ["gap"], ["f"]),
         helper.make_node("MatMul", ["f", "mm"], ["y"])],
        [tensor("w1", [4, 3, 3, 3]), tensor("g", [4]), tensor("b", [4]), tensor("m", [4]),
         numpy_helper.from_array(np.ones([4], np.float32), "v"),
         numpy_helper.from_array(np.array(0, np.float32), "lo"),
         numpy_helper.from_array(np.array(6, np.float32), "hi"),
         tensor("dw", [4, 1, 3, 3]), tensor("bias4", [1, 4, 1, 1]), tensor("mm", [4, 3])],
        image_input(3, 8, 8), logits(), opset=14))

    # torch.onnx's x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape, with
    # Cast, Slice, Squeeze, Div, Sub and a Constant node on the way.
    write("onnx_import", "shape_ops.onnx", model(
        [helper.make_node("Shape", ["x"], ["s"]),
         helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(
             np.array(0, np.int64))),
         helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
         helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"]),
         helper.make_node("Slice", ["s", "st", "en", "ax0", "one"], ["hw"]),
         helper.make_node("Cast", ["hw"], ["hwf"], to=TensorProto.FLOAT),
         helper.make_node("Cast", ["hwf"], ["hwi"], to=TensorProto.INT64),
         helper.make_node("Div", ["hwi", "one"], ["q"]),
         helper.make_node("Sub", ["q", "zero"], ["q2"]),
         helper.make_node("Squeeze", ["q2", "ax0"], ["q3"]),
         helper.make_node("Unsqueeze", ["q3", "ax0"], ["q4"]),
         helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
         helper.make_node("Reshape", ["x", "target"], ["flat"]),
         helper.make_node("Gemm", ["flat", "fc"], ["y"], alpha=1.0, beta=1.0)],
        [numpy_helper.from_array(np.array([0], np.int64), "ax0"),
         numpy_helper.from_array(np.array([2], np.int64), "st"),
         numpy_helper.from_array(np.array([3], np.int64), "en"),
         numpy_helper.from_array(np.array([1], np.int64), "one"),
         numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
         tensor("fc", [16, 3])], image_input(1, 4, 4), logits()))

    # A QDQ int8 model: per-channel int8 conv weights, quantized activations, a QDQ Gemm.
    qw = numpy_helper.from_array((np.arange(2 * 1 * 3 * 3) % 5 - 2).astype(np.int8)
                                 .reshape(2, 1, 3, 3), "qw")
    write("onnx_import", "qdq.onnx", model(
        [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
         helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
         helper.make_node("DequantizeLinear", ["qw", "ws", "wz"], ["wd"], axis=0),
         helper.make_node("Conv", ["xd", "wd", "cb"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["c"], ["r"]),
         helper.make_node("QuantizeLinear", ["r", "as", "az"], ["rq"]),
         helper.make_node("DequantizeLinear", ["rq", "as", "az"], ["rd"]),
         helper.make_node("Reshape", ["rd", "shape"], ["f"]),
         helper.make_node("DequantizeLinear", ["fq", "fs", "fz"], ["fw"], axis=0),
         helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1)],
        [numpy_helper.from_array(np.array(0.05, np.float32), "xs"),
         numpy_helper.from_array(np.array(0, np.int8), "xz"), qw,
         numpy_helper.from_array(np.array([0.02, 0.03], np.float32), "ws"),
         numpy_helper.from_array(np.array([0, 0], np.int8), "wz"), tensor("cb", [2]),
         numpy_helper.from_array(np.array(0.04, np.float32), "as"),
         numpy_helper.from_array(np.array(0, np.int8), "az"),
         numpy_helper.from_array(np.array([0, -1], np.int64), "shape"),
         numpy_helper.from_array((np.arange(3 * 32) % 9 - 4).astype(np.int8).reshape(3, 32), "fq"),
         numpy_helper.from_array(np.array([0.01, 0.02, 0.03], np.float32), "fs"),
         numpy_helper.from_array(np.zeros(3, np.int8), "fz"), tensor("fb", [3])],
        image_input(1, 4, 4), logits()))

    # Opset 11 (axes as attributes), Dropout, Identity, LeakyRelu(0), Concat of activations.
    write("onnx_import", "opset11.onnx", model(
        [helper.make_node("Conv", ["x", "w"], ["a"]),
         helper.make_node("LeakyRelu", ["a"], ["b"], alpha=0.0),
         helper.make_node("Identity", ["b"], ["c"]),
         helper.make_node("Dropout", ["c"], ["d"], ratio=0.1),
         helper.make_node("Concat", ["d", "b"], ["e"], axis=1),
         helper.make_node("GlobalAveragePool", ["e"], ["g"]),
         helper.make_node("Squeeze", ["g"], ["s"], axes=[2, 3]),
         helper.make_node("Unsqueeze", ["s"], ["u"], axes=[2]),
         helper.make_node("Flatten", ["u"], ["f"]),
         helper.make_node("Gemm", ["f", "fc", "fb"], ["y"], transB=1, beta=0.5)],
        [tensor("w", [2, 1, 1, 1]), tensor("fc", [3, 4]), tensor("fb", [1])],
        image_input(1, 4, 4), logits(), opset=11))

    # A 2-D input (features, not images).
    write("onnx_import", "mlp.onnx", model(
        [helper.make_node("MatMul", ["x", "w"], ["a"]),
         helper.make_node("Add", ["a", "b"], ["y"])],
        [tensor("w", [5, 3]), tensor("b", [3])],
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5]), logits()))


# --- safetensors --------------------------------------------------------------------------------

def safetensors(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    f32 = np.arange(6, dtype=np.float32).tobytes()
    write("safetensors", "mixed.safetensors", safetensors({
        "features.0.weight": ("F32", [2, 3], f32),
        "features.0.bias": ("F64", [2], np.array([1, 2], np.float64).tobytes()),
        "step": ("I64", [], np.array([7], np.int64).tobytes()),
        "half": ("F16", [2], np.array([1.5, -2], np.float16).tobytes()),
        "bf": ("BF16", [1], b"\x80\x3f"),
        "flags": ("BOOL", [3], b"\x00\x01\x01"),
        "q": ("I8", [2, 2], b"\x01\xff\x7f\x80"),
        "u": ("U8", [1], b"\x05"), "s": ("I16", [1], b"\x01\x00"), "i": ("I32", [1], b"\x02\x00\x00\x00"),
    }, {"format": "qforge"}))
    write("safetensors", "empty.safetensors", safetensors({}))
    write("safetensors", "zero_dim.safetensors", safetensors({"e": ("F32", [0, 4], b"")}))


# --- checkpoint state ---------------------------------------------------------------------------

def state_seeds():
    config = {"model.name": "lenet", "model.form": "small", "model.scale": "1",
              "model.num_classes": "10", "model.in_channels": "1", "model.image_size": "28",
              "quant.weight_quantize_type": "channel_wise_abs_max", "optimizer.lr": "0.01"}
    write("checkpoint_state", "state.json", json.dumps(
        {"epoch": 2, "batch_in_epoch": 17, "global_step": 955, "seed": 1, "config": config},
        indent=2) + "\n")
    write("checkpoint_state", "mobilenet.json", json.dumps(
        {"epoch": 0, "batch_in_epoch": 0, "global_step": 0, "seed": 18446744073709551615,
         "config": {"model.name": "mobilenet_v1", "model.form": "imagenet", "model.scale": "0.25",
                    "model.image_size": "32"}}))
    write("checkpoint_state", "no_config.json", '{"epoch":0,"batch_in_epoch":0,"global_step":0,"seed":3}')


# --- idx ----------------------------------------------------------------------------------------

def idx_seeds():
    rows = cols = 3
    images = struct.pack(">IIII", 2051, 2, rows, cols) + bytes(range(18))
    labels = struct.pack(">II", 2049, 2) + bytes([3, 9])
    for gz, name in ((0, "plain"), (1, "gzip")):
        a, b = (gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)) if gz else (images, labels)
        write("idx", name + ".bin", bytes([gz, len(a) & 0xff, len(a) >> 8]) + a + b)


# --- image lists --------------------------------------------------------------------------------

def image_list_seeds():
    # byte 0: bit 0 skip_bad, bit 1 check_files, bits 2-7 num_classes - 1
    write("image_list", "root_relative.txt", bytes([9 << 2]) + b"train/a.JPEG 0\nb.JPEG 9\n\n")
    write("image_list", "split_relative.txt", bytes([3 | (4 << 2)]) + b"a.JPEG 1\r\nmissing.JPEG 2\n")
    write("image_list", "spaces.txt", bytes([1]) + b"dir with space/x y.JPEG 0\n../up.JPEG 0\n/abs 0\nnolabel\n")


# --- configs ------------------------------------------------------------------------------------

def config_seeds():
    root = os.path.dirname(HERE)
    for sub in ("fashion_mnist", "imagenet"):
        d = os.path.join(root, "configs", sub)
        for name in sorted(os.listdir(d)):
            if name in ("lenet.ini", "mobilenet_v1.ini", "resnet18.ini", "mobilenet_v3_large.ini"):
                with open(os.path.join(d, name), "rb") as f:
                    write("config", sub + "_" + name, f.read())
    write("config", "args.ini", b"[model]\nname = lenet\n[train]\nepochs = 2 # two\n\0--lr\0" +
          b"0.1\0--device=cuda:1\0--data.batch_size\0" + b"32\0--schedule.milestones\0[1, 2]\0--dist.sync_bn")


if __name__ == "__main__":
    onnx_seeds()
    safetensors_seeds()
    state_seeds()
    idx_seeds()
    image_list_seeds()
    config_seeds()
