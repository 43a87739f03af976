#!/usr/bin/env python3
"""Reference values for Revisit's probability calibration (Modules/Calibration) from
scikit-learn: Platt scaling as CalibratedClassifierCV(method="sigmoid") fits it
(sklearn.calibration._sigmoid_calibration on the scores' logits) and IsotonicRegression
(out_of_bounds="clip"). Regenerate with the bench venv:

    PY=$(../shared/bench/setup.sh); $PY Fixtures/calibration/generate_calibration_reference.py
"""
import json, os
import numpy as np
import sklearn
from sklearn.calibration import _sigmoid_calibration
from sklearn.isotonic import IsotonicRegression

HERE = os.path.dirname(os.path.abspath(__file__))
EPS = 1e-7


def logit(s):
    p = np.clip(s, EPS, 1 - EPS)
    return np.log(p / (1 - p))


rng = np.random.default_rng(7)
cases = []
for name, n, base, sharp in [("overconfident", 800, 0.08, 2.5), ("underconfident", 600, 0.3, 0.4), ("ties", 300, 0.2, 1.0)]:
    latent = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(latent + np.log(base / (1 - base)))))).astype(int)
    scores = 1 / (1 + np.exp(-sharp * (latent + np.log(base / (1 - base)))))
    if name == "ties":
        scores = np.round(scores, 2)   # many equal scores: pooled before PAV
    A, B = _sigmoid_calibration(logit(scores), y)
    iso = IsotonicRegression(out_of_bounds="clip").fit(scores, y)
    probe = np.linspace(0, 1, 41)
    cases.append({
        "name": name, "scores": scores.tolist(), "labels": y.tolist(),
        "platt": {"a": float(-A), "b": float(-B)},   # sklearn predicts expit(-(A f + B))
        "isotonic": {"thresholds": iso.X_thresholds_.tolist(), "values": iso.y_thresholds_.tolist()},
        "probe": probe.tolist(), "isotonic_probe": iso.predict(probe).tolist(),
        "platt_probe": (1 / (1 + np.exp(A * logit(probe) + B))).tolist(),
    })
with open(os.path.join(HERE, "calibration_reference.json"), "w") as f:
    json.dump({"generator": "Fixtures/calibration/generate_calibration_reference.py", "sklearn": sklearn.__version__, "cases": cases}, f)
print("wrote calibration_reference.json")
