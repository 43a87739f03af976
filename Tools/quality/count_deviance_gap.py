"""Per-row Poisson deviance of two models' expected_orders in a backtest's scores.csv, against
the order days observed in [as_of, as_of + H), with a bootstrap interval of the difference.

    python Tools/quality/count_deviance_gap.py REPORT_DIR DATASET_DIR MODEL_A MODEL_B [H]

Docs/Quality.md ("The count head against BG/NBD") quotes its output. Needs pandas and numpy.
"""
import sys

import numpy as np
import pandas as pd

report, dataset, model_a, model_b = sys.argv[1:5]
horizon = int(sys.argv[5]) if len(sys.argv) > 5 else 28
scores = pd.read_csv(f"{report}/scores.csv", dtype={"customer_id": str})
scores = scores[scores.model_id.isin([model_a, model_b])].copy()
visits = pd.read_csv(f"{dataset}/visits.csv", dtype={"customer_id": str}, usecols=["customer_id", "visit_date", "order"])
order_days = visits[visits.order == 1][["customer_id", "visit_date"]].drop_duplicates()
order_days["day"] = pd.to_datetime(order_days.visit_date)
scores["t"] = pd.to_datetime(scores.as_of)
pairs = scores[["customer_id", "t"]].drop_duplicates().merge(order_days[["customer_id", "day"]], on="customer_id", how="left")
pairs["inside"] = (pairs.day >= pairs.t) & (pairs.day < pairs.t + pd.Timedelta(days=horizon))
observed = pairs.groupby(["customer_id", "t"])["inside"].sum().rename("y").reset_index()
table = scores.pivot_table(index=["customer_id", "t"], columns="model_id", values="expected_orders").reset_index()
table = table.merge(observed, on=["customer_id", "t"]).dropna()


def deviance(mu, y):
    mu = np.maximum(mu, 1e-12)
    return 2 * (np.where(y > 0, y * np.log(np.maximum(y, 1) / mu), 0) - (y - mu))


y = table.y.to_numpy(float)
da, db = deviance(table[model_a].to_numpy(float), y), deviance(table[model_b].to_numpy(float), y)
difference = da - db
rng = np.random.default_rng(1)
resamples = [difference[rng.integers(0, len(difference), len(difference))].mean() for _ in range(2000)]
low, high = np.percentile(resamples, [2.5, 97.5])
print(f"rows {len(y)}; mean Poisson deviance {model_a} {da.mean():.4f}, {model_b} {db.mean():.4f}; "
      f"difference {difference.mean():+.4f}, 95% bootstrap interval [{low:+.4f}, {high:+.4f}]")
