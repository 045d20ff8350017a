#!/usr/bin/env python3
"""Lists the functions longer than a limit (default 80 lines), longest first.

  tools/function_lengths.py [--limit N] [PATH ...]

Function extents come from Universal Ctags (`ctags --fields=+ne`: each function's first and last
line), over the C++ and CUDA sources of the given paths (default: the whole tree but build
folders). Declarative tables — functions that only bind a list of keys or register a list of
entries, one statement per entry — are allowed to be long and listed apart (DECLARATIVE below).
Exits 1 when any other function is over the limit.
"""
import json
import os
import subprocess
import sys

# (path, function) pairs that are declarative tables, and why.
DECLARATIVE = {
    ("launch/lib/run_config.cpp", "qf::bind_run_config"): "one schema.add per config key",
}
SOURCE = (".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh")
SKIP_DIRS = {"build", ".git", "node_modules", "runs"}


def sources(paths):
    for top in paths:
        if os.path.isfile(top):
            yield top
            continue
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("build"))
            for name in sorted(files):
                if name.endswith(SOURCE):
                    yield os.path.join(folder, name)


def functions(files):
    cmd = ["ctags", "--output-format=json", "--fields=+neKZ", "--kinds-C++=+f",
           "--langmap=C++:+.cu.cuh", "-o", "-"] + list(files)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        tag = json.loads(line)
        if tag.get("kind") == "function" and "end" in tag:
            scope = tag.get("scope", "")
            name = f"{scope}::{tag['name']}" if scope else tag["name"]
            yield tag["path"], tag["line"], tag["end"] - tag["line"] + 1, name


def main():
    args = sys.argv[1:]
    limit = 80
    if args[:1] == ["--limit"]:
        limit, args = int(args[1]), args[2:]
    paths = args or ["."]
    long = sorted((f for f in functions(sources(paths)) if f[2] > limit), key=lambda f: -f[2])
    bad = 0
    for path, line, n, name in long:
        path = os.path.normpath(path)
        why = next((w for (p, fn), w in DECLARATIVE.items() if path.endswith(p) and name == fn), None)
        tag = f"  (declarative table: {why})" if why else ""
        bad += why is None
        print(f"{n:4d} lines  {path}:{line}  {name}{tag}")
    print(f"{len(long)} function(s) over {limit} lines, {bad} not declarative")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
