#!/usr/bin/env bash
# The whole pipeline on the bundled sample (Fixtures/sample): import → train → score → backtest.
#   Tools/demo/demo.sh BIN_DIR WORK_DIR [--reduced]
# BIN_DIR holds the built tools (importer, trainer, scorer, evaluator); `make demo` passes the
# release build. --reduced is the form CI runs after the tests (debug build, seconds): one
# epoch on eight weeks of examples and a single backtest fold. Prints the per-week comparison
# with the reps, the mean lift and where the report is.
set -euo pipefail
BIN=${1:?usage: demo.sh BIN_DIR WORK_DIR [--reduced]}
WORK=${2:?usage: demo.sh BIN_DIR WORK_DIR [--reduced]}
REDUCED=${3:-}
cd "$(dirname "$0")/../.."
SAMPLE=Fixtures/sample

if [ "$REDUCED" = "--reduced" ]; then
  TRAIN=(--epochs 1 --training-weeks 8 --validation-dates 2)
  BACKTEST=(--folds 1 --epochs 1 --warm-epochs 1 --training-weeks 8 --models cnn_lstm_bgnbd,xgboost,bgnbd,logreg,recency,round_robin --bootstrap 50)
else
  TRAIN=(--epochs 6 --patience 2 --training-weeks 52)
  BACKTEST=(--folds 6 --epochs 3 --warm-epochs 1 --training-weeks 52 --models cnn_lstm_bgnbd,cnn_lstm,xgboost,bgnbd,logreg,decision_tree,association_rules,recency,round_robin)
fi

rm -rf "$WORK" && mkdir -p "$WORK"
echo "== 1/4 import the sample ERP export ($SAMPLE)"
"$BIN/importer" "$SAMPLE/visits.csv" --customers "$SAMPLE/customers.csv" --out "$WORK/data" --quiet

echo "== 2/4 train the default model (the CNN-LSTM with BG/NBD beside it) on everything up to the last day"
"$BIN/trainer" "$WORK/data" --out "$WORK/model.safetensors" "${TRAIN[@]}"

echo "== 3/4 tomorrow's call lists (top 5 per rep; first rep shown)"
"$BIN/scorer" --model "$WORK/model.safetensors" --dataset "$WORK/data" --top-per-rep 5 --out "$WORK/call_lists.csv"
head -6 "$WORK/call_lists.csv"

echo "== 4/4 rolling weekly backtest: list precision vs the reps' own success rate and a random list"
"$BIN/evaluator" backtest --dataset "$WORK/data" --ground-truth "$SAMPLE/ground_truth.csv" --out "$WORK/report" \
  "${BACKTEST[@]}" --quiet | tee "$WORK/backtest.txt"
echo
AVERAGE=$(grep '^average' "$WORK/backtest.txt" | grep ' cnn_lstm_bgnbd ')
echo "Mean lift of the default model (cnn_lstm_bgnbd) over the reps: $(echo "$AVERAGE" | sed 's/.* lift \([^ ]*\).*/\1/'); over a random list of the same candidates: $(echo "$AVERAGE" | sed 's/.*over random //')"
echo "Report: $WORK/report/report.md (report.json, scores.csv, weekly_precision.svg, roc.svg, pr.svg, reliability.svg, calibration.svg)"
