#!/usr/bin/env python3
"""Writes Fixtures/tensors/python_written.safetensors with Python's `safetensors` package, and
python_written.json with the values it holds, so the Swift tests can check that Revisit reads a
file produced by the reference implementation.

The values are simple formulas (no randomness), chosen to cover: a 2-D and a 3-D tensor, a
rank-0 scalar, an empty tensor, values that are not exact in decimal, negative zero, infinities,
Int64 extremes, non-ASCII names and metadata.

Regenerate:  PY=$(../shared/bench/setup.sh); $PY Fixtures/tensors/generate_safetensors_fixture.py
"""
import json
import os

import numpy as np
import safetensors
from safetensors.numpy import save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def tensors():
    return {
        "seq_branch.conv.weight": (np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7.0 - 1.5),
        "head.bias": np.array([0.1, -0.2], dtype=np.float32),
        "matrix": (np.arange(15, dtype=np.float32).reshape(5, 3) ** 2 * 1e-3),
        "scalar": np.array(3.25, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "special": np.array([-0.0, np.inf, -np.inf, 1e-38, 3.4028235e38], dtype=np.float32),
        "step": np.array([0, 1, -1, 2**62, -(2**63)], dtype=np.int64),
        "größe/名字": np.array([[1.0, 2.0]], dtype=np.float32),
    }


def main():
    values = tensors()
    metadata = {"format": "revisit-test", "safetensors_version": safetensors.__version__,
                "numpy_version": np.__version__, "note": "quotes \" and \\ backslash, 中文"}
    save_file(values, os.path.join(HERE, "python_written.safetensors"), metadata=metadata)
    expected = {"metadata": metadata, "tensors": {}}
    for name, array in values.items():
        expected["tensors"][name] = {
            "dtype": "F32" if array.dtype == np.float32 else "I64",
            "shape": list(array.shape),
            # Float32 values as their IEEE-754 bit patterns: exact, and JSON has no inf.
            "bits": [int(x) for x in array.reshape(-1).view(np.uint32)] if array.dtype == np.float32
            else [str(int(x)) for x in array.reshape(-1)],
        }
    with open(os.path.join(HERE, "python_written.json"), "w", encoding="utf-8") as fh:
        json.dump(expected, fh, indent=1, ensure_ascii=False, sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    main()
