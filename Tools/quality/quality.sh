#!/usr/bin/env bash
# `make quality`: Revisit's rolling backtest beside the field's reference models on a real
# purchase log, in one run, then one side-by-side table (Docs/Quality.md).
#   Tools/quality/quality.sh BIN_DIR WORK_DIR [--quick]
# 1. the CDNOW sample shipped with `lifetimes` as a transactions CSV (../shared/bench/cdnow_sample.py);
# 2. importer → dataset; evaluator backtest on the weekly folds 1997-10-06 … 1998-06-01 (35; --quick:
#    the reference's 6), H = 28 days; the backtest's defaults for a transaction log (every customer
#    with history, the best tenth as the list, compared with a random list); no per-dataset flags;
# 3. ../shared/bench/quality_reference.py (BG/NBD, LightGBM, a PyTorch GRU) on the same folds;
# 4. the backtest on Fixtures/sample beside its ground-truth ceiling;
# 5. revisit-bench quality: the table and the bars.
set -euo pipefail
BIN=${1:?usage: quality.sh BIN_DIR WORK_DIR [--quick]}
WORK=${2:?usage: quality.sh BIN_DIR WORK_DIR [--quick]}
QUICK=${3:-}
cd "$(dirname "$0")/../.."
SHARED=../shared/bench
PY=$("$SHARED/setup.sh" quality)
mkdir -p "$WORK"

# The reference's folds: every Monday from 1997-10-06 to 1998-06-01, or its --quick pick of 6.
FOLDS=$("$PY" -c "
import numpy as np, datetime as d
dates = [d.date(1997, 10, 6) + d.timedelta(weeks=k) for k in range(35)]
pick = range(35) if '$QUICK' != '--quick' else sorted(set(np.linspace(0, 34, 6).round().astype(int).tolist()))
print(','.join(str(dates[k]) for k in pick))")
REFERENCE_FLAGS=()
[ "$QUICK" = "--quick" ] && REFERENCE_FLAGS=(--quick)

echo "== 1/5 the CDNOW sample as a transactions CSV"
"$PY" "$SHARED/cdnow_sample.py" --out "$WORK/cdnow_sample.csv"

echo "== 2/5 Revisit: import, then the rolling backtest on $(echo "$FOLDS" | tr ',' '\n' | wc -l) weekly folds"
"$BIN/importer" "$WORK/cdnow_sample.csv" --mapping Fixtures/mappings/transactions.json --out "$WORK/cdnow" --quiet
/usr/bin/env time -f "revisit backtest: %e s" "$BIN/evaluator" backtest --dataset "$WORK/cdnow" --out "$WORK/revisit" \
  --fold-dates "$FOLDS" \
  --models cnn_lstm_bgnbd,cnn_lstm,xgboost,bgnbd,logreg,association_rules,recency,frequency --bootstrap 200 --quiet > "$WORK/revisit.txt"

echo "== 3/5 the reference models (quality_reference.py) on the same folds"
/usr/bin/env time -f "reference: %e s" "$PY" "$SHARED/quality_reference.py" --data "$WORK/cdnow_sample.csv" "${REFERENCE_FLAGS[@]}" \
  --out "$WORK/reference.json" > "$WORK/reference.log"

echo "== 4/5 Fixtures/sample: the backtest beside its ceiling"
"$BIN/importer" Fixtures/sample/visits.csv --customers Fixtures/sample/customers.csv --out "$WORK/sample" --quiet
SAMPLE_FOLDS=12
[ "$QUICK" = "--quick" ] && SAMPLE_FOLDS=4
/usr/bin/env time -f "sample backtest: %e s" "$BIN/evaluator" backtest --dataset "$WORK/sample" --ground-truth Fixtures/sample/ground_truth.csv \
  --out "$WORK/sample-report" --folds "$SAMPLE_FOLDS" \
  --models cnn_lstm_bgnbd,cnn_lstm,xgboost,bgnbd,logreg,decision_tree,association_rules,recency,round_robin --bootstrap 200 --quiet > "$WORK/sample.txt"

echo "== 5/5 side by side (mean over the folds)"
"$BIN/revisit-bench" quality --report "$WORK/revisit/report.json" --reference "$WORK/reference.json" \
  --sample "$WORK/sample-report/report.json" | tee "$WORK/quality.md"
echo "Reports: $WORK/revisit/report.md, $WORK/reference.md, $WORK/sample-report/report.md; table: $WORK/quality.md"
