#!/usr/bin/env python3
"""Reference values for Revisit's min-max scaling (Modules/Features/Scaling.swift) from
scikit-learn's MinMaxScaler(feature_range=(lo, hi), clip=True), fitted on a training matrix
and applied to a test matrix, for both of Revisit's target intervals, [0, 1] and [-1, 1]
(the latter is MATLAB mapminmax's default, which the RNN study used).

The columns cover what the pipeline meets: a spread column, a skewed (log1p-like) one, a
constant one (scikit-learn maps it to the interval's lower end, as mapminmax does), a 0/1
column, and test rows outside the fitted range (clipped). Missing values are not here:
scikit-learn passes NaN through, Revisit maps it to the lower end (Docs/Features.md), which
ScalingTests checks on its own.

Regenerate (any venv with scikit-learn):

    python3 Fixtures/scaling/generate_scaling_reference.py
"""
import json, os
import numpy as np
import sklearn
from sklearn.preprocessing import MinMaxScaler

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(11)

n_train, n_test = 40, 25
train = np.column_stack([
    rng.normal(3.0, 2.0, n_train),
    np.log1p(rng.exponential(30.0, n_train)),
    np.full(n_train, 4.5),
    (rng.random(n_train) < 0.3).astype(float),
])
test = np.column_stack([
    rng.normal(3.0, 3.0, n_test),           # wider than training: some rows clip at both ends
    np.log1p(rng.exponential(60.0, n_test)),
    np.where(np.arange(n_test) % 2 == 0, 4.5, rng.normal(4.5, 1.0, n_test)),  # the constant, and other values
    (rng.random(n_test) < 0.5).astype(float),
])

cases = []
for lo, hi, name in [(0.0, 1.0, "zero_one"), (-1.0, 1.0, "minus_one_one")]:
    scaler = MinMaxScaler(feature_range=(lo, hi), clip=True).fit(train)
    cases.append({
        "scaling": name,
        "data_min": scaler.data_min_.tolist(),
        "data_max": scaler.data_max_.tolist(),
        "test_scaled": scaler.transform(test).tolist(),
    })

with open(os.path.join(HERE, "scaling_reference.json"), "w") as f:
    json.dump({"generator": "Fixtures/scaling/generate_scaling_reference.py", "sklearn": sklearn.__version__,
               "train": train.tolist(), "test": test.tolist(), "cases": cases}, f)
