"""Checks ONNX files the strict way users' tools do: onnx.checker.check_model(full_check=True) and
strict shape inference (type checks on, errors instead of warnings), then that every graph output's
declared shape agrees with the inferred one in rank and in every fixed dimension.

  /usr/bin/python3 tools/check_onnx.py FILE.onnx [FILE.onnx ...]

Prints one line per file ("ok" or what failed) and exits 1 if any file fails, 0 otherwise.
Needs python3-onnx (Debian)."""
import sys

import onnx
from onnx import shape_inference


def dims(value_info):
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in t.shape.dim]


def check(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for out in model.graph.output:
        declared = dims(out)
        got = dims(known[out.name]) if out.name in known else None
        if declared is None or got is None:
            continue
        if len(declared) != len(got):
            raise ValueError(f"output '{out.name}' is declared with rank {len(declared)}, "
                             f"inferred rank {len(got)}")
        for a, b in zip(declared, got):
            if isinstance(a, int) and isinstance(b, int) and a != b:
                raise ValueError(f"output '{out.name}' is declared {declared}, inferred {got}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    failed = 0
    for path in sys.argv[1:]:
        try:
            check(path)
            print(f"ok      {path}")
        except Exception as e:  # noqa: BLE001 - report every failure, one line each
            failed += 1
            print(f"FAILED  {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
