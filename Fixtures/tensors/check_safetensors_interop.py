#!/usr/bin/env python3
"""Checks that a tensor file written by Revisit loads in Python's `safetensors` with the
expected names, dtypes, shapes, values (bit for bit) and metadata.

Usage:  python check_safetensors_interop.py FILE EXPECTED.json
EXPECTED.json has the layout of python_written.json. Exit status 0 when everything matches;
otherwise 1, with one line per difference on stderr. The Swift test
TensorFileTests.pythonReadsRevisitFiles runs it.
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def main(path, expected_path):
    with open(expected_path, encoding="utf-8") as fh:
        expected = json.load(fh)
    loaded = load_file(path)
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata() or {}
    problems = []
    if metadata != expected["metadata"]:
        problems.append(f"metadata {metadata!r} != expected {expected['metadata']!r}")
    if set(loaded) != set(expected["tensors"]):
        problems.append(f"names {sorted(loaded)} != expected {sorted(expected['tensors'])}")
    for name, want in expected["tensors"].items():
        if name not in loaded:
            continue
        got = loaded[name]
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}.get(got.dtype, str(got.dtype))
        if dtype != want["dtype"]:
            problems.append(f"{name}: dtype {dtype} != {want['dtype']}")
            continue
        if list(got.shape) != want["shape"]:
            problems.append(f"{name}: shape {list(got.shape)} != {want['shape']}")
            continue
        if dtype == "F32":
            bits = [int(x) for x in got.reshape(-1).view(np.uint32)]
        else:
            bits = [str(int(x)) for x in got.reshape(-1)]
        if bits != want["bits"]:
            problems.append(f"{name}: values differ: {bits[:8]} vs {want['bits'][:8]}")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
