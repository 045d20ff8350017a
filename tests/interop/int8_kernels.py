"""Whether ONNX Runtime runs every convolution and matmul of a QDQ int8 file on an int8 kernel,
with BatchNorm folded away.

  int8_kernels.py MODEL.onnx OP_COUNTS.json

OP_COUNTS.json is what `node tools/ort/ort_infer.js ... --op-counts` writes from ONNX Runtime's
profile (distinct nodes per op type that ran, after graph optimization). The file's Conv nodes
must all run as QLinearConv / ConvInteger (NhwcQLinearConv on some builds), its Gemm and MatMul
nodes as QGemm / QLinearMatMul / MatMulInteger, no float Conv, Gemm or MatMul may be left in the
profile, and the file may hold no BatchNormalization. Prints one line and exits 1 if a check fails.
Needs python3-onnx (Debian)."""
import json
import sys

import onnx

INT8_CONV = ("QLinearConv", "ConvInteger", "NhwcQLinearConv")
INT8_MATMUL = ("QGemm", "QLinearMatMul", "MatMulInteger", "MatMulIntegerToFloat")
FLOAT_OPS = ("Conv", "FusedConv", "NhwcFusedConv", "Gemm", "MatMul", "FusedMatMul")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    model = onnx.load(sys.argv[1], load_external_data=False)
    with open(sys.argv[2]) as fh:
        ops = json.load(fh)
    kinds = [n.op_type for n in model.graph.node]
    convs, mats = kinds.count("Conv"), kinds.count("Gemm") + kinds.count("MatMul")
    int8_convs = sum(ops.get(o, 0) for o in INT8_CONV)
    int8_mats = sum(ops.get(o, 0) for o in INT8_MATMUL)
    floats = {o: ops[o] for o in FLOAT_OPS if ops.get(o, 0)}
    line = (f"ONNX Runtime int8: convs {int8_convs}/{convs}, matmuls {int8_mats}/{mats}, "
            f"float conv/matmul nodes {floats or 0}, BatchNormalization in file "
            f"{kinds.count('BatchNormalization')}")
    ok = (int8_convs == convs and int8_mats == mats and not floats
          and "BatchNormalization" not in kinds and convs > 0)
    print(("ok      " if ok else "FAILED  ") + line)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
