#!/usr/bin/env python3
"""Reference values for Revisit's concordance index (Modules/Metrics/Concordance.swift) from
lifelines' `concordance_index(event_times, predicted_scores, event_observed)`.

Seeded cases with what a backtest meets: whole-day times with many ties, censoring (also at
the same day as an event), tied predictions, and predictions that are negated probabilities.

Regenerate (any venv with lifelines):

    python3 Fixtures/metrics/generate_concordance_reference.py
"""
import json, os
import numpy as np
import lifelines
from lifelines.utils import concordance_index

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(17)
cases = []
for name, n, censor_share, tie_scale in [("continuous", 200, 0.3, None), ("whole_days", 400, 0.5, 1.0),
                                         ("coarse_predictions", 300, 0.4, 0.25), ("mostly_censored", 150, 0.9, 1.0)]:
    risk = rng.normal(size=n)
    times = rng.exponential(20.0 * np.exp(-0.7 * risk))
    observed = rng.random(n) >= censor_share
    if tie_scale is not None:
        times = np.floor(times)
    predicted = 20.0 * np.exp(-0.7 * (risk + rng.normal(scale=0.8, size=n)))
    if tie_scale is not None:
        predicted = np.round(predicted * tie_scale) / tie_scale
    if name == "coarse_predictions":
        predicted = -np.round(1 - np.exp(-28.0 / np.maximum(predicted, 1e-9)), 1)  # negated P(order within 28 days)
    cases.append({"name": name, "times": times.tolist(), "predicted": predicted.tolist(),
                  "observed": observed.astype(int).tolist(),
                  "c_index": float(concordance_index(times, predicted, observed))})

with open(os.path.join(HERE, "concordance_reference.json"), "w") as f:
    json.dump({"generator": "Fixtures/metrics/generate_concordance_reference.py", "lifelines": lifelines.__version__,
               "cases": cases}, f)
