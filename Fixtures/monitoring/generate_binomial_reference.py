"""Reference values of the one-sided binomial tail the nightly trend warnings use
(Modules/Monitoring/Trend.swift, Trend.binomialLowerTail): scipy.stats.binom.cdf(k, n, p).

    python Fixtures/monitoring/generate_binomial_reference.py > Fixtures/monitoring/binomial_reference.json

Cases cover small lists, a large night (n = 20,000), the tails near 0 and 1, and p at the edges.
"""
import json

import scipy
from scipy.stats import binom

cases = [
    (0, 10, 0.1), (1, 10, 0.1), (3, 50, 0.15), (9, 60, 0.15), (2, 60, 0.15), (4, 60, 0.2),
    (0, 60, 0.15), (30, 200, 0.2), (25, 200, 0.2), (120, 1000, 0.15), (150, 1000, 0.15),
    (2800, 20000, 0.15), (3000, 20000, 0.15), (5, 5000, 0.01), (49, 50, 0.99), (0, 1, 0.5),
    (7, 8, 0.3), (1, 100, 0.0001),
]
print(json.dumps({
    "generator": "scipy.stats.binom.cdf", "scipy": scipy.__version__,
    "cases": [{"k": k, "n": n, "p": p, "cdf": float(binom.cdf(k, n, p))} for k, n, p in cases],
}, indent=1))
