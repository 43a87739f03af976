#!/usr/bin/env python3
"""Reference values for Tensors.SeededRandom, taken from numpy's PCG64 bit generator.

Revisit seeds PCG64 its own way (SplitMix64 expands the 64-bit seed and the stream number into
the 128-bit state and odd increment, then the generator steps once). This script reproduces that
seeding in Python, loads the resulting state into numpy.random.PCG64, and records numpy's raw
64-bit stream together with the derived draws (uniform floats, bounded integers, shuffles,
normals) computed from that stream by the formulas documented in SeededRandom.swift.

Regenerate (deterministic; the output is committed):
    python3 Fixtures/random/generate_pcg64_reference.py > Fixtures/random/pcg64_reference.json
"""
import json
import math
import sys

import numpy as np

MASK64 = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def revisit_state(seed, stream):
    s, hi = splitmix64(seed)
    s, lo = splitmix64(s)
    t, inc_hi = splitmix64(stream ^ 0x5851F42D4C957F2D)
    t, inc_lo = splitmix64(t)
    inc = (inc_hi << 64) | inc_lo | 1
    state = (hi << 64) | lo
    return state, inc


class Draws:
    """Revisit's derived draws over numpy's raw PCG64 stream."""

    def __init__(self, seed, stream):
        state, inc = revisit_state(seed, stream)
        self.bg = np.random.PCG64()
        self.bg.state = {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
                         "has_uint32": 0, "uinteger": 0}
        self.bg.random_raw()  # Revisit's initialiser steps once after seeding
        self.state_after_seed = self.bg.state["state"]

    def raw(self):
        return int(self.bg.random_raw())

    def uniform(self):
        return float(np.float32((self.raw() >> 40) * 2.0 ** -24))

    def uniform_double(self):
        return (self.raw() >> 11) * 2.0 ** -53

    def int_below(self, bound):
        m = self.raw() * bound
        low = m & MASK64
        if low < bound:
            threshold = ((1 << 64) - bound) % bound
            while low < threshold:
                m = self.raw() * bound
                low = m & MASK64
        return m >> 64

    def shuffle(self, items):
        items = list(items)
        position = len(items) - 1
        while position > 0:
            other = self.int_below(position + 1)
            items[position], items[other] = items[other], items[position]
            position -= 1
        return items

    def normal(self):
        u1 = ((self.raw() >> 11) + 1) * 2.0 ** -53
        u2 = (self.raw() >> 11) * 2.0 ** -53
        return float(np.float32(math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)))


def case(seed, stream):
    d = Draws(seed, stream)
    st = d.bg.state["state"]
    row = {
        "seed": str(seed), "stream": str(stream),
        "state_after_seed": str(st["state"]), "increment": str(st["inc"]),
        "raw": [str(d.raw()) for _ in range(16)],
    }
    row["uniform"] = [d.uniform() for _ in range(8)]
    row["uniform_double"] = [d.uniform_double() for _ in range(4)]
    row["int_below_7"] = [d.int_below(7) for _ in range(16)]
    row["int_below_huge"] = [str(d.int_below((1 << 62) + 12345)) for _ in range(4)]
    row["shuffle_10"] = d.shuffle(range(10))
    row["normal"] = [d.normal() for _ in range(8)]
    return row


def main():
    cases = [case(s, k) for (s, k) in [(0, 0), (42, 0), (42, 1), (MASK64, 7), (20181010, 3)]]
    json.dump({"generator": "numpy.random.PCG64 raw stream with Revisit's SplitMix64 seeding",
               "numpy": np.__version__, "cases": cases}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
