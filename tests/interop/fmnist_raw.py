"""Writes the first N Fashion-MNIST test images as raw float32 (N, 1, 28, 28), normalized as qforge
and PaddleSlim do ((p - 127.5) / 127.5), and their labels as raw int32 — what `qforge infer` and
tools/ort/ort_infer.js read. Usage: fmnist_raw.py DATA_DIR N IMAGES.bin LABELS.bin"""
import gzip
import os
import struct
import sys


def read_idx(path):
    opener = gzip.open if not os.path.exists(path) else open
    with opener(path if os.path.exists(path) else path + ".gz", "rb") as f:
        data = f.read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return dims, data[4 + 4 * rank:]


def main():
    root, n, images_out, labels_out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    (_, h, w), pixels = read_idx(os.path.join(root, "t10k-images-idx3-ubyte"))
    _, labels = read_idx(os.path.join(root, "t10k-labels-idx1-ubyte"))
    with open(images_out, "wb") as f:
        f.write(struct.pack("<%df" % (n * h * w), *[(p - 127.5) / 127.5 for p in pixels[:n * h * w]]))
    with open(labels_out, "wb") as f:
        f.write(struct.pack("<%di" % n, *labels[:n]))


if __name__ == "__main__":
    main()
