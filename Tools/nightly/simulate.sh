#!/usr/bin/env bash
# Runs Docs/nightly-retrain.sh night after night on a simulated ERP (synth), as cron would, to see
# what an operator sees after weeks: lists, audits as their windows close, the trend chart with
# its warnings, and the drift check refusing a broken export (Docs/Nightly.md, "Simulated nights").
#   simulate.sh BIN_DIR OUT_DIR [NIGHTS]
# Each night's export is the simulated log cut at that night (visits dated before it), the full
# export an ERP writes. On night BROKEN_NIGHT (default 10) the export loses its oldest 40% of
# visits, as a misconfigured ERP query would: the job must keep yesterday's dataset and model.
# Settings: CUSTOMERS (300), REPS (6), MODEL (xgboost), HORIZON (7 days, so that lists close
# within the run), LIST_LENGTH (5).
set -euo pipefail
BIN=${1:?usage: simulate.sh BIN_DIR OUT_DIR [NIGHTS]}
OUT=${2:?usage: simulate.sh BIN_DIR OUT_DIR [NIGHTS]}
NIGHTS=${3:-35}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CUSTOMERS=${CUSTOMERS:-300}
REPS=${REPS:-6}
MODEL=${MODEL:-xgboost}
HORIZON=${HORIZON:-7}
BROKEN_NIGHT=${BROKEN_NIGHT:-10}
export LIST_LENGTH=${LIST_LENGTH:-5}
export REVISIT_BIN="$BIN"
export TRAIN_ARGS="--model $MODEL --horizon $HORIZON --training-weeks 26 --epochs 3 --patience 1 --quiet"
rm -rf "$OUT"
mkdir -p "$OUT/export"
"$BIN/synth" --out "$OUT/erp" --customers "$CUSTOMERS" --reps "$REPS" --start 2018-03-05 --weeks 40 --no-xml > /dev/null
cp "$OUT/erp/customers.csv" "$OUT/export/customers.csv"
first=2018-10-01   # week 30: enough history to train on
for ((night = 0; night < NIGHTS; night++)); do
  today=$(date -d "$first +$night days" +%F)
  # The export as the ERP writes it that night: every visit before today (the 4th column is
  # the date; the columns before it are ids without commas).
  awk -F, -v today="$today" 'NR == 1 || $4 < today' "$OUT/erp/visits.csv" > "$OUT/export/visits.csv.tmp"
  if [ "$night" -eq "$BROKEN_NIGHT" ]; then
    rows=$(($(wc -l < "$OUT/export/visits.csv.tmp") - 1))
    { head -n 1 "$OUT/export/visits.csv.tmp"; tail -n "$((rows * 6 / 10))" "$OUT/export/visits.csv.tmp"; } > "$OUT/export/visits.csv.cut"
    mv "$OUT/export/visits.csv.cut" "$OUT/export/visits.csv.tmp"
  fi
  mv "$OUT/export/visits.csv.tmp" "$OUT/export/visits.csv"
  echo "== night $((night + 1))/$NIGHTS: $today"
  REVISIT_TODAY=$today bash "$ROOT/Docs/nightly-retrain.sh" "$OUT/export" "$OUT/state" 2>&1 \
    | grep -v '^importer: \|^trainer: \|^scorer: ' || { echo "simulate: night $today failed" >&2; exit 1; }
done
echo "== after $NIGHTS nights: $OUT/state/reports/trend/trend.md (and trend.svg), $OUT/state/history.csv"
