#!/usr/bin/env bash
# make fuzz: both importer readers under libFuzzer + AddressSanitizer, side by side (one core
# each), for SECONDS each, from a corpus of the committed fixtures. The harness's oracle
# (Modules/ERPImport/Fuzzing.swift) traps on a broken invariant — counts that do not reconcile,
# a rejected row without its line or raw text, accepted rows that do not reload — so a finding
# is any crash, leak, sanitizer report or oracle trap; libFuzzer saves the input as crash-*.
# Usage: fuzz.sh BUILD_DIR SECONDS
set -euo pipefail
build=$(cd "$1" && pwd) seconds=$2
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/debug
status=0
for reader in csv xml; do
  corpus=$build/corpus-$reader
  mkdir -p "$corpus" "$build/findings-$reader"
  cp "$root"/Fixtures/erp/*.$reader "$root"/Fixtures/malformed/*.$reader "$corpus"/ 2>/dev/null || true
done
echo "make fuzz: fuzz-csv and fuzz-xml for ${seconds} s each, in parallel; logs in $build/fuzz-*.log"
for reader in csv xml; do
  (cd "$build/findings-$reader" && "$bin/fuzz-$reader" "../corpus-$reader" -max_total_time="$seconds" -max_len=65536 \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"../fuzz-$reader.log" 2>&1) &
done
for job in $(jobs -p); do wait "$job" || status=1; done
for reader in csv xml; do
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz-$reader.log" | grep -o '[0-9]*$' || echo "?")
  findings=$(ls "$build/findings-$reader" | grep -c '^\(crash\|leak\|timeout\|oom\)-' || true)
  echo "fuzz-$reader: $runs inputs in ${seconds} s, $findings findings"
  if [ "$findings" != 0 ]; then status=1; ls "$build/findings-$reader"; grep -m3 'fuzz oracle\|ERROR' "$build/fuzz-$reader.log" || true; fi
done
exit $status
