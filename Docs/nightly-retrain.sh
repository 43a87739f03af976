#!/usr/bin/env bash
# Revisit's nightly job (Docs/Nightly.md): import → retrain (warm start) → score → audit.
#   nightly-retrain.sh EXPORT_DIR STATE_DIR
# EXPORT_DIR holds the ERP's visits.csv and customers.csv (add --mapping for other layouts);
# STATE_DIR keeps data/, model.safetensors, lists/ and reports/. The tools must be on PATH.
set -euo pipefail
EXPORT=${1:?usage: nightly-retrain.sh EXPORT_DIR STATE_DIR}
STATE=${2:?usage: nightly-retrain.sh EXPORT_DIR STATE_DIR}
TODAY=$(date +%F)
MONTH_AGO=$(date -d '28 days ago' +%F)
mkdir -p "$STATE/lists" "$STATE/reports"

# 1. Import; more than 5% rejected rows stops the night (exit 3), keeping yesterday's dataset.
importer "$EXPORT/visits.csv" --customers "$EXPORT/customers.csv" --out "$STATE/data" --max-reject-rate 0.05

# 2. Retrain on everything up to today, warm-started from last night's model when there is one.
WARM=()
[ -f "$STATE/model.safetensors" ] && WARM=(--init-from "$STATE/model.safetensors")
trainer "$STATE/data" --out "$STATE/model.next.safetensors" --train-until "$TODAY" --epochs 4 --patience 2 \
  --training-weeks 52 "${WARM[@]}" --log-json
mv "$STATE/model.next.safetensors" "$STATE/model.safetensors"   # rename: atomic on one file system

# 3. Tomorrow's call lists: each rep's top 20.
scorer --model "$STATE/model.safetensors" --dataset "$STATE/data" --as-of "$TODAY" --top-per-rep 20 \
  --out "$STATE/lists/$TODAY.csv"
ln -sfn "$TODAY.csv" "$STATE/lists/latest.csv"

# 4. Audit the lists published four weeks ago, now that their outcomes are known.
if [ -f "$STATE/lists/$MONTH_AGO.csv" ]; then
  evaluator audit --scores "$STATE/lists/$MONTH_AGO.csv" --dataset "$STATE/data" --out "$STATE/reports/$MONTH_AGO"
fi
