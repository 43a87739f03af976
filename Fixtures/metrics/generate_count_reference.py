#!/usr/bin/env python3
"""Reference values for Revisit's count metrics (Modules/Metrics/CountMetrics.swift) from
scikit-learn's `mean_absolute_error`, `mean_squared_error` (square-rooted) and
`mean_poisson_deviance`.

Seeded cases with what a backtest meets: small whole counts, mostly zeros, overdispersed counts
(negative binomial), and predictions far too high or too low.

Regenerate (any venv with scikit-learn):

    python3 Fixtures/metrics/generate_count_reference.py
"""
import json, os
import numpy as np
import sklearn
from sklearn.metrics import mean_absolute_error, mean_squared_error, mean_poisson_deviance

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(23)
cases = []
for name, n, scale, bias in [("poisson", 300, 1.0, 1.0), ("mostly_zero", 500, 0.08, 1.0),
                             ("overdispersed", 400, 2.0, 1.0), ("too_high", 200, 0.5, 3.0), ("too_low", 200, 1.5, 0.2)]:
    mean = scale * np.exp(rng.normal(scale=0.8, size=n))
    if name == "overdispersed":
        observed = rng.negative_binomial(1.5, 1.5 / (1.5 + mean))
    else:
        observed = rng.poisson(mean)
    predicted = bias * mean * np.exp(rng.normal(scale=0.3, size=n))
    cases.append({"name": name, "predicted": predicted.tolist(), "observed": observed.astype(float).tolist(),
                  "mae": float(mean_absolute_error(observed, predicted)),
                  "rmse": float(np.sqrt(mean_squared_error(observed, predicted))),
                  "poisson_deviance": float(mean_poisson_deviance(observed, predicted))})

with open(os.path.join(HERE, "count_reference.json"), "w") as f:
    json.dump({"generator": "Fixtures/metrics/generate_count_reference.py", "sklearn": sklearn.__version__,
               "cases": cases}, f)
