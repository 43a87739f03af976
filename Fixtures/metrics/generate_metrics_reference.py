#!/usr/bin/env python3
"""Reference values for Modules/Metrics, computed by scikit-learn (and numpy where sklearn has
no function) on seeded inputs.

Every case holds its inputs (scores, 0/1 labels, threshold, the k of the top-k metrics, the
number of reliability bins) and the expected value of each metric. A metric that scikit-learn
refuses (raises, warns with UndefinedMetricWarning, or returns NaN under zero_division=nan) is
written as null: Revisit reports it as undefined. Metrics that sklearn computes only when told
both labels exist (log_loss, brier_score_loss on one-class inputs) are called with labels=[0, 1]:
they are per-row averages and stay defined whenever there is a row.

Sources of each expected value:
  confusion, accuracy, precision, recall, f1  sklearn.metrics.* on (score >= threshold)
  roc_auc                                     sklearn.metrics.roc_auc_score
  roc_curve                                   sklearn.metrics.roc_curve(drop_intermediate=False)
  pr_curve                                    sklearn.metrics.precision_recall_curve(drop_intermediate=False)
  average_precision                           sklearn.metrics.average_precision_score
  pr_auc                                      sklearn.metrics.auc(recall, precision) over pr_curve
  log_loss, brier                             sklearn.metrics.log_loss, brier_score_loss
  precision/recall_at_k                       sklearn precision_score / recall_score on the top-k
                                              indicator (np.argsort(-score, kind="stable")[:k])
  lift_at_k                                   precision_at_k / mean(labels)
  reliability                                 sklearn.calibration.calibration_curve(strategy="uniform"),
                                              plus the bin index and count of every non-empty bin
                                              (np.searchsorted(edges[1:-1], score), as sklearn bins)
  ece                                         sum over non-empty bins of count/n * |observed - predicted|

Regenerate (deterministic; the output is committed):
    $(../shared/bench/setup.sh) Fixtures/metrics/generate_metrics_reference.py \
        > Fixtures/metrics/metrics_reference.json
"""
import json
import math
import platform
import sys
import warnings

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    auc,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

SEED = 20240611


def number(x):
    """A float for JSON, or None when sklearn gave NaN."""
    x = float(x)
    return None if math.isnan(x) else x


def guarded(compute):
    """compute() with warnings as errors; None when sklearn raises or warns (undefined)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return compute()
        except (ValueError, IndexError, UndefinedMetricWarning, RuntimeWarning, UserWarning):
            return None


def curve_list(values):
    return [None if math.isinf(v) else float(v) for v in values]


def expected_values(scores, labels, threshold, ks, n_bins, with_curves):
    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    n = len(y)
    predicted = (s >= threshold).astype(np.int64)
    out = {}
    if n:
        tn, fp, fn, tp = confusion_matrix(y, predicted, labels=[0, 1]).ravel()
        out["confusion"] = {"tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn)}
    else:
        out["confusion"] = {"tp": 0, "fp": 0, "tn": 0, "fn": 0}
    out["accuracy"] = guarded(lambda: number(accuracy_score(y, predicted)))
    out["precision"] = guarded(lambda: number(precision_score(y, predicted, zero_division=np.nan)))
    out["recall"] = guarded(lambda: number(recall_score(y, predicted, zero_division=np.nan)))
    out["f1"] = guarded(lambda: number(f1_score(y, predicted, zero_division=np.nan)))
    out["roc_auc"] = guarded(lambda: number(roc_auc_score(y, s)))
    out["average_precision"] = guarded(lambda: number(average_precision_score(y, s)))

    def pr_auc():
        precision, recall, _ = precision_recall_curve(y, s, drop_intermediate=False)
        return number(auc(recall, precision))

    out["pr_auc"] = guarded(pr_auc)
    out["log_loss"] = guarded(lambda: number(log_loss(y, s, labels=[0, 1])))
    out["brier"] = guarded(lambda: number(brier_score_loss(y, s, labels=[0, 1])))

    order = np.argsort(-s, kind="stable")
    base_rate = y.mean() if n else float("nan")
    out["precision_at_k"], out["recall_at_k"], out["lift_at_k"] = [], [], []
    for k in ks:
        top = np.zeros(n, dtype=np.int64)
        top[order[: min(k, n)]] = 1
        p = guarded(lambda: number(precision_score(y, top, zero_division=np.nan))) if n else None
        r = guarded(lambda: number(recall_score(y, top, zero_division=np.nan))) if n else None
        out["precision_at_k"].append(p)
        out["recall_at_k"].append(r)
        out["lift_at_k"].append(None if p is None or not base_rate > 0 else p / base_rate)

    def reliability():
        observed, mean_predicted = calibration_curve(y, s, n_bins=n_bins, strategy="uniform")
        edges = np.linspace(0.0, 1.0, n_bins + 1)
        bin_ids = np.searchsorted(edges[1:-1], s)
        counts = np.bincount(bin_ids, minlength=n_bins)
        nonempty = np.nonzero(counts)[0]
        ece = float(np.sum(counts[nonempty] / n * np.abs(observed - mean_predicted)))
        return {
            "bin_index": [int(b) for b in nonempty],
            "count": [int(counts[b]) for b in nonempty],
            "observed": [float(v) for v in observed],
            "predicted": [float(v) for v in mean_predicted],
        }, ece

    result = guarded(reliability) if n else None
    out["reliability"], out["ece"] = result if result is not None else (None, None)

    if with_curves:
        def roc():
            fpr, tpr, thresholds = roc_curve(y, s, drop_intermediate=False)
            return {"fpr": curve_list(fpr), "tpr": curve_list(tpr), "thresholds": curve_list(thresholds)}

        def pr():
            precision, recall, thresholds = precision_recall_curve(y, s, drop_intermediate=False)
            return {"precision": curve_list(precision), "recall": curve_list(recall),
                    "thresholds": curve_list(thresholds)}

        out["roc_curve"] = guarded(roc)
        out["pr_curve"] = guarded(pr)
    return out


def make_cases():
    rng = np.random.default_rng(SEED)
    cases = []

    def add(name, scores, labels, *, threshold=0.5, ks=(1, 5, 10), n_bins=10, with_curves=False):
        scores = [float(v) for v in scores]
        labels = [int(v) for v in labels]
        cases.append({
            "name": name, "scores": scores, "labels": labels, "threshold": threshold,
            "k": list(ks), "n_bins": n_bins, "has_curves": with_curves,
            "expected": expected_values(scores, labels, threshold, ks, n_bins, with_curves),
        })

    # Rare positives (about 8%) with informative probabilities: a logistic of a shifted normal.
    n = 1000
    labels = (rng.random(n) < 0.08).astype(np.int64)
    logits = rng.normal(-2.4, 1.0, n) + 1.3 * labels
    random_scores = 1.0 / (1.0 + np.exp(-logits))
    add("random_n1000", random_scores, labels, threshold=0.2, ks=(1, 10, 50, 80, 200, 1000, 1200),
        with_curves=True)
    # The same rows with scores rounded to one decimal: many ties, and ties on bin edges.
    add("heavy_ties_n1000", np.round(random_scores * 10) / 10, labels, threshold=0.2,
        ks=(1, 10, 50, 80, 200, 1000), with_curves=True)
    # Every score equal: one threshold, AUC 0.5, top-k decided by input order alone.
    m = 60
    labels_equal = (rng.random(m) < 0.25).astype(np.int64)
    labels_equal[0] = 1
    add("all_equal_n60", np.full(m, 0.3), labels_equal, ks=(1, 5, 15, 60), n_bins=5, with_curves=True)
    # Perfect and inverted rankings.
    labels_rank = (rng.random(40) < 0.3).astype(np.int64)
    noise = rng.random(40) * 0.4
    add("perfect_n40", np.where(labels_rank == 1, 0.6 + noise, noise), labels_rank, ks=(1, 5, 12, 40))
    add("inverted_n40", np.where(labels_rank == 1, noise, 0.6 + noise), labels_rank, ks=(1, 5, 12, 40))
    # Tiny inputs: sklearn's documented roc_auc example, and a single positive among three rows.
    add("tiny_n4", [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], ks=(1, 2, 4), n_bins=4, with_curves=True)
    add("tiny_n3", [0.9, 0.2, 0.9], [0, 1, 0], ks=(1, 2, 3), n_bins=3)
    # One class only: ranking metrics and precision/recall are undefined, losses are not.
    add("no_positives_n20", rng.random(20), np.zeros(20, dtype=np.int64), ks=(1, 5), with_curves=True)
    add("no_negatives_n20", rng.random(20), np.ones(20, dtype=np.int64), ks=(1, 5), with_curves=True)
    # Nothing predicted positive at the threshold: precision undefined, recall 0.
    add("no_predicted_positives_n30", rng.random(30) * 0.4, (rng.random(30) < 0.3).astype(np.int64),
        threshold=0.5, ks=(1, 5))
    # No rows at all: every metric is undefined (sklearn raises on empty input).
    add("empty", [], [], ks=(1,), with_curves=True)
    return cases


def main():
    document = {
        "generator": "Fixtures/metrics/generate_metrics_reference.py",
        "seed": SEED,
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "log_loss_eps": float(np.finfo(np.float64).eps),
        "cases": make_cases(),
    }
    json.dump(document, sys.stdout, indent=1, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
