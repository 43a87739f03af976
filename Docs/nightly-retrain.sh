#!/usr/bin/env bash
# Revisit's nightly job (Docs/Nightly.md), made to run unattended for months:
#   import → drift check → retrain (warm start, fresh on failure) → score → audit closed lists → trend
#
#   nightly-retrain.sh EXPORT_DIR STATE_DIR
#
# EXPORT_DIR holds the ERP's full export, visits.csv and customers.csv. STATE_DIR keeps:
#   data -> data-YYYY-MM-DD   the dataset the lists were scored on (a link, switched atomically;
#                             the previous night's directory is kept for a rollback)
#   model.safetensors         the model that scored them
#   lists/YYYY-MM-DD.csv      each night's call lists, lists/latest.csv the CRM reads
#   scores/YYYY-MM-DD.csv     every candidate's scores that night (the audit's random list and
#                             ceiling are drawn from them); removed once audited
#   reports/YYYY-MM-DD/       the audit of each list, once its outcome window has closed
#   reports/drift-YYYY-MM-DD/ tonight's export against yesterday's dataset
#   reports/trend/            trend.md and trend.svg: list precision over the nights
#   history.csv               one row per audited list (evaluator audit --history)
#
# Settings (environment; each has a default, and none is overridden if you set it):
#   REVISIT_BIN      directory of importer, trainer, scorer, evaluator (prepended to PATH)
#   REVISIT_TODAY    the night to run as (YYYY-MM-DD; default today): replays a missed night
#   LIST_LENGTH      each rep's list length, shared by the scorer and the audit (default 20)
#   IMPORT_ARGS      extra importer arguments, e.g. "--mapping /srv/erp/mapping.json"
#   TRAIN_ARGS       trainer arguments (default "--epochs 4 --patience 2 --training-weeks 52")
#   DRIFT_ARGS       evaluator drift thresholds, e.g. "--max-history-loss 0.02"
#   TREND_ARGS       evaluator trend settings, e.g. "--window 28 --fail-on-warning"
#   REVISIT_CONFIG   a TOML file of the tools' flags (Docs/revisit.example.toml), passed to every
#                    tool with --config; it needs a table for each: [importer], [trainer],
#                    [scorer], [evaluator.drift], [evaluator.audit], [evaluator.trend]. With
#                    it, TRAIN_ARGS defaults to nothing (the file says how to train); LIST_LENGTH
#                    and the flags below still win, being on the command line.
set -euo pipefail
EXPORT=${1:?usage: nightly-retrain.sh EXPORT_DIR STATE_DIR}
STATE=${2:?usage: nightly-retrain.sh EXPORT_DIR STATE_DIR}
if [ -n "${REVISIT_BIN:-}" ]; then PATH="$REVISIT_BIN:$PATH"; fi
for tool in importer trainer scorer evaluator; do
  command -v "$tool" > /dev/null || { echo "nightly: $tool is not on PATH ($PATH); set REVISIT_BIN" >&2; exit 1; }
done
TODAY=${REVISIT_TODAY:-$(date +%F)}
YESTERDAY=$(date -d "$TODAY -1 day" +%F)
LIST_LENGTH=${LIST_LENGTH:-20}
read -r -a IMPORT_EXTRA <<< "${IMPORT_ARGS:-}"
CONFIG=()
if [ -n "${REVISIT_CONFIG:-}" ]; then
  CONFIG=(--config "$REVISIT_CONFIG")
  read -r -a TRAIN_EXTRA <<< "${TRAIN_ARGS:-}"
else
  read -r -a TRAIN_EXTRA <<< "${TRAIN_ARGS:---epochs 4 --patience 2 --training-weeks 52}"
fi
read -r -a DRIFT_EXTRA <<< "${DRIFT_ARGS:-}"
read -r -a TREND_EXTRA <<< "${TREND_ARGS:-}"
say() { echo "nightly $TODAY: $*"; }
mkdir -p "$STATE/lists" "$STATE/scores" "$STATE/reports"

# An install from before the dataset link kept a plain data/ directory: make it the first version.
if [ -d "$STATE/data" ] && [ ! -L "$STATE/data" ]; then
  mv "$STATE/data" "$STATE/data-previous"
  ln -s data-previous "$STATE/data"
fi

# 1. Import tonight's export beside yesterday's dataset. More than 5% rejected rows stops the
#    night (importer exit 3, nothing written): yesterday's dataset, model and lists stay.
NEXT="$STATE/data-$TODAY"
rm -rf "$NEXT"
importer "$EXPORT/visits.csv" --customers "$EXPORT/customers.csv" --out "$NEXT" --max-reject-rate 0.05 \
  "${CONFIG[@]}" "${IMPORT_EXTRA[@]}"

# 2. What moved since yesterday. Past a threshold (exit 5) the night keeps yesterday's dataset and
#    model and still publishes lists from them, so the reps are not left without one; the drift
#    report says what to look at, and the new import stays for inspection.
USE_NEW=yes
if [ -e "$STATE/data" ] && [ "$(readlink "$STATE/data")" != "data-$TODAY" ]; then
  set +e
  evaluator drift --baseline "$STATE/data" --candidate "$NEXT" --out "$STATE/reports/drift-$TODAY" "${CONFIG[@]}" "${DRIFT_EXTRA[@]}"
  rc=$?
  set -e
  if [ "$rc" -eq 5 ]; then
    USE_NEW=no
    say "tonight's export drifted past a threshold (reports/drift-$TODAY/drift.md): keeping yesterday's dataset and model; $NEXT is kept for inspection"
  elif [ "$rc" -ne 0 ]; then
    exit "$rc"
  fi
fi
if [ "$USE_NEW" = yes ]; then
  PREVIOUS=$(readlink "$STATE/data" 2> /dev/null || true)
  ln -sfn "data-$TODAY" "$STATE/data.link"
  mv -T "$STATE/data.link" "$STATE/data"   # rename(2): readers see the old or the new dataset, never neither
  # Keep the previous night's dataset for a rollback; older ones go.
  for old in "$STATE"/data-*; do
    name=$(basename "$old")
    if [ "$name" != "data-$TODAY" ] && [ "$name" != "$PREVIOUS" ]; then rm -rf "$old"; fi
  done
fi

# 3. Retrain on everything up to today, warm-started from last night's model. A model that cannot
#    warm-start (another model kind, a file from an older release) falls back to a fresh training
#    with a message, rather than failing every night from then on. An interrupted training
#    (reboot, SIGTERM: exit 130) stops the night; the next night simply retrains.
if [ "$USE_NEW" = yes ]; then
  MODEL_NEXT="$STATE/model.next.safetensors"
  train() { trainer "$STATE/data" --out "$MODEL_NEXT" --train-until "$TODAY" "${CONFIG[@]}" "${TRAIN_EXTRA[@]}" "$@"; }
  if [ -f "$STATE/model.safetensors" ]; then
    set +e
    train --init-from "$STATE/model.safetensors"
    rc=$?
    set -e
    if [ "$rc" -eq 2 ]; then
      say "last night's model cannot warm-start tonight's training (message above): training from scratch"
      train
    elif [ "$rc" -ne 0 ]; then
      exit "$rc"
    fi
  else
    train
  fi
  mv "$MODEL_NEXT" "$STATE/model.safetensors"   # rename: atomic on one file system
fi

# 4. Tomorrow's call lists: each rep's top LIST_LENGTH, then the link the CRM reads; every
#    candidate's scores beside them for the audit.
scorer --model "$STATE/model.safetensors" --dataset "$STATE/data" --as-of "$TODAY" --top-per-rep "$LIST_LENGTH" \
  --out "$STATE/lists/$TODAY.csv" --all-scores "$STATE/scores/$TODAY.csv" "${CONFIG[@]}"
ln -sfn "$TODAY.csv" "$STATE/lists/latest.link"
mv -T "$STATE/lists/latest.link" "$STATE/lists/latest.csv"

# 5. Audit every night's scores whose outcome window [as-of, as-of + H) has closed by yesterday
#    (the last day the export covers, even if nobody visited at the weekend), at the list length
#    published; each audit adds the night's row to history.csv, which is also what marks it done.
#    H is read from the scores (horizon_days). Scores whose audit still finds no closed window (it
#    leaves out rows it cannot judge) are retried on the following nights, for a week.
column() { head -n 1 "$1" | tr -d '\r' | tr ',' '\n' | grep -nx "$2" | cut -d: -f1 || true; }
audited() { [ -f "$STATE/history.csv" ] && grep -q "^[0-9]*,$1," "$STATE/history.csv"; }
for scores in "$STATE"/scores/????-??-??.csv; do
  [ -e "$scores" ] || continue
  day=$(basename "$scores" .csv)
  if audited "$day"; then rm -f "$scores"; continue; fi
  [ "$(wc -l < "$scores")" -gt 1 ] || continue   # no candidates that night: nothing to audit
  index=$(column "$scores" horizon_days)
  horizon=28
  if [ -n "$index" ]; then
    value=$(sed -n 2p "$scores" | cut -d, -f"$index")
    if [[ "$value" =~ ^[0-9]+$ ]]; then horizon=$value; fi
  fi
  closes=$(date -d "$day +$((horizon - 1)) days" +%F)
  [[ "$closes" > "$YESTERDAY" ]] && continue
  if [[ "$(date -d "$closes +7 days" +%F)" < "$YESTERDAY" ]]; then
    say "scores of $day: no closed outcome window a week after it should have closed; not audited (reports/$day)"
    rm -f "$scores"
    continue
  fi
  evaluator audit --scores "$scores" --dataset "$STATE/data" --top-per-rep "$LIST_LENGTH" \
    --observed-through "$YESTERDAY" --history "$STATE/history.csv" --out "$STATE/reports/$day" --quiet "${CONFIG[@]}"
  if audited "$day"; then rm -f "$scores"; fi
done

# 6. List precision over the nights (reports/trend/trend.svg); warnings are printed to the log.
if [ -f "$STATE/history.csv" ]; then
  evaluator trend --history "$STATE/history.csv" --out "$STATE/reports/trend" "${CONFIG[@]}" "${TREND_EXTRA[@]}"
fi
say "done"
