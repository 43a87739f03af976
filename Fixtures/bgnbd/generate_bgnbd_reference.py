#!/usr/bin/env python3
"""Reference values for Revisit's BG/NBD (Modules/BGNBD) from `lifetimes` (BetaGeoFitter), the
established implementation. Regenerate with the quality venv:

    PY=$(../shared/bench/setup.sh quality); $PY Fixtures/bgnbd/generate_bgnbd_reference.py

Writes Fixtures/bgnbd/bgnbd_reference.json: for two seeded populations simulated from the
BG/NBD process itself (customers' ages T in days, like a weekly retail log), the fitted
parameters with lifetimes' defaults (penalizer 0 and 0.001, the value the quality benchmark
uses), the penalised objective at the optimum, the log-likelihood of a few customers, and
P(alive), P(>= 1 purchase in (T, T + 28]) and the conditional expected purchases in
(T, T + 28] and (T, T + 91] for every customer.
"""
import json, os, warnings
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter

HERE = os.path.dirname(os.path.abspath(__file__))


def simulate(rng, n, r, alpha, a, b, max_age):
    """Distinct purchase days of n customers acquired uniformly over max_age days."""
    T = rng.integers(30, max_age, n).astype(float)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n); tx = np.zeros(n)
    for i in range(n):
        t = 0.0; days = set()
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > T[i]: break
            days.add(int(t))          # purchases on one day are one occasion
            if rng.random() < p[i]: break
        days = sorted(d for d in days if d > 0)
        x[i] = len(days); tx[i] = float(days[-1]) if days else 0.0
    return x, tx, T


def case(name, x, tx, T, penalizer):
    g = pd.DataFrame({"x": x, "tx": tx, "T": T}).groupby(["x", "tx", "T"]).size().reset_index(name="w")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = BetaGeoFitter(penalizer_coef=penalizer)
        f.fit(g["x"].values, g["tx"].values, g["T"].values, weights=g["w"].values)
    params = {k: float(f.params_[k]) for k in ("r", "alpha", "a", "b")}
    r, al, a, b = params["r"], params["alpha"], params["a"], params["b"]
    alive = np.asarray(f.conditional_probability_alive(x, tx, T), float)
    p28 = alive * (1.0 - ((al + T) / (al + T + 28.0)) ** (r + x))
    e28 = np.asarray(f.conditional_expected_number_of_purchases_up_to_time(28.0, x, tx, T), float)
    e91 = np.asarray(f.conditional_expected_number_of_purchases_up_to_time(91.0, x, tx, T), float)
    return {
        "name": name, "penalizer": penalizer, "parameters": params,
        "objective": float(f._negative_log_likelihood_),
        "patterns": int(len(g)),
        "probability_alive": alive.tolist(), "probability_purchase_28d": p28.tolist(),
        "expected_purchases_28d": e28.tolist(), "expected_purchases_91d": e91.tolist(),
    }


def main():
    rng = np.random.default_rng(20261201)
    out = {"generator": "Fixtures/bgnbd/generate_bgnbd_reference.py", "lifetimes": __import__("lifetimes").__version__, "cases": []}
    for name, n, params in [("retail", 1500, (0.25, 20.0, 0.8, 2.5)), ("loyal", 800, (1.2, 60.0, 0.3, 6.0))]:
        x, tx, T = simulate(rng, n, *params, max_age=540)
        c0 = case(name, x, tx, T, 0.0)
        c1 = case(name + "_penalized", x, tx, T, 0.001)
        for c in (c0, c1):
            c["x"], c["tx"], c["T"] = x.tolist(), tx.tolist(), T.tolist()
            out["cases"].append(c)
    # log-likelihoods of single customers at fixed parameters (no fit involved)
    from lifetimes.fitters.beta_geo_fitter import BetaGeoFitter as F
    fixed = [0.243, 4.414, 0.793, 2.426]
    pts = [(0, 0, 38.86), (2, 30.43, 38.86), (5, 10.0, 60.0), (1, 1.0, 1.0)]
    lls = []
    for (xx, t1, TT) in pts:
        v = -F._negative_log_likelihood(np.log(fixed), np.array([xx]), np.array([t1]), np.array([TT]), np.array([1.0]), 0.0)
        lls.append({"x": xx, "tx": t1, "T": TT, "log_likelihood": float(v)})
    out["fixed_parameters"] = dict(zip(["r", "alpha", "a", "b"], fixed))
    out["log_likelihoods"] = lls
    # conditional expected purchases at fixed parameters with a > 1 (the fitted cases have a < 1),
    # over short and long horizons and long histories (z = h / (alpha + T + h) near 1)
    g = BetaGeoFitter()
    exp_pts = []
    for params in [(0.243, 4.414, 2.5, 2.426), (1.5, 30.0, 3.0, 8.0)]:
        g.params_ = pd.Series(dict(zip(["r", "alpha", "a", "b"], params)))
        for (xx, t1, TT) in [(0, 0, 38.86), (2, 30.43, 38.86), (5, 10.0, 60.0), (40, 700.0, 720.0), (1, 1.0, 1.0)]:
            for h in (7.0, 28.0, 365.0, 3650.0):
                v = float(g.conditional_expected_number_of_purchases_up_to_time(h, xx, t1, TT))
                exp_pts.append({"parameters": dict(zip(["r", "alpha", "a", "b"], params)), "x": xx, "tx": t1, "T": TT,
                                "horizon": h, "expected_purchases": v})
    out["expected_purchases"] = exp_pts
    with open(os.path.join(HERE, "bgnbd_reference.json"), "w") as fh:
        json.dump(out, fh, indent=0)
    print("wrote", os.path.join(HERE, "bgnbd_reference.json"))


if __name__ == "__main__":
    main()
