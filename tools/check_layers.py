#!/usr/bin/env python3
"""Checks that every include points down the layers (docs/architecture.md, cmake/layers.cmake).

  tools/check_layers.py [SOURCE_ROOT]

For each source file of a layer's folders, every `#include "folder/..."` must name a folder the
layer may use. Prints one line per upward include and exits 1 when there is any, else prints a
summary and exits 0. The build enforces the same rule through per-layer include roots; this is
the second guard, readable without a build.
"""
import os
import re
import sys

# Folder -> the folders its sources may include (its own included).
MAY_USE = {
    "nn": {"nn"},
    "data": {"nn", "data"},
    "io": {"nn", "io"},
    "comm": {"nn", "comm"},
    "models": {"nn", "models"},
    "quant": {"nn", "data", "io", "comm", "models", "quant"},
    "trainer": {"nn", "data", "io", "comm", "models", "trainer"},
    "launch": {"nn", "data", "io", "comm", "models", "quant", "trainer", "launch"},
}
SOURCE = (".h", ".cpp", ".cu", ".cuh")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/')
# Files in the layer folders that are not part of the layer: tests and shared test cases, which
# sit above every layer (they join the test programs).
NOT_LAYER = re.compile(r"_(test|cases)\.(cpp|h)$")


def upward_includes(root):
    for layer, allowed in MAY_USE.items():
        for folder, _, files in os.walk(os.path.join(root, layer)):
            for name in sorted(files):
                if not name.endswith(SOURCE) or NOT_LAYER.search(name):
                    continue
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if m and m.group(1) in MAY_USE and m.group(1) not in allowed:
                            yield os.path.relpath(path, root), number, m.group(1), layer


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    bad = list(upward_includes(root))
    for path, number, target, layer in bad:
        print(f"{path}:{number}: includes {target}/, above {layer}/ "
              f"(allowed: {', '.join(sorted(MAY_USE[layer]))})")
    if bad:
        return 1
    print(f"every include points down ({len(MAY_USE)} layer folders checked)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
